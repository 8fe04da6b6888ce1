// Common webhook payload fields and the per-event payload builders.
import type { CommitInfo } from "./git-store.ts";
import { repoWebhookShape, orgWebhookShape, userByLogin, pullShape, reviewShape, iso, checkRunShape, checkSuiteShape, type PullComputed } from "./shapes.ts";
import type { CheckRun, CheckSuite, PullRequest, Repo, Review } from "./state.ts";
import type { SimWorld } from "./world.ts";

type J = Record<string, unknown>;

/** Bot addresses like `1+app[bot]@users.noreply.github.com` are not RFC emails; payloads carry null then. */
const emailOrNull = (e: string) => (/^[^\s@[\]]+@[^\s@[\]]+\.[^\s@[\]]+$/.test(e) ? e : null);

/** repository, sender, installation and (for org-owned repos) organization. */
export function envelope(w: SimWorld, r: Repo, sender: string): J {
  const inst = w.installationFor(r.owner);
  return {
    repository: repoWebhookShape(w, r),
    sender: userByLogin(w, sender),
    ...(inst ? { installation: { id: inst.id, node_id: w.ids.nodeId("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", inst.id) } } : {}),
    ...(w.isOrg(r.owner) ? { organization: orgWebhookShape(w, r.owner) } : {}),
  };
}

export function pullWebhookShape(w: SimWorld, r: Repo, p: PullRequest, c: PullComputed): J {
  return {
    ...pullShape(w, r, p, c),
    allow_auto_merge: false, allow_update_branch: false, delete_branch_on_merge: false,
    merge_commit_message: "PR_TITLE", merge_commit_title: "MERGE_MESSAGE",
    squash_merge_commit_message: "COMMIT_MESSAGES", squash_merge_commit_title: "COMMIT_OR_PR_TITLE", use_squash_pr_title_as_default: false,
  };
}

export function pullRequestPayload(w: SimWorld, r: Repo, p: PullRequest, c: PullComputed, action: string, sender: string, extra: J = {}): J {
  return { action, number: p.number, pull_request: pullWebhookShape(w, r, p, c), ...extra, ...envelope(w, r, sender) };
}

export function reviewPayload(w: SimWorld, r: Repo, p: PullRequest, c: PullComputed, rv: Review, action: string, sender: string): J {
  // Webhook payloads spell review states in lowercase ("approved"), unlike the REST API ("APPROVED").
  const review = { ...reviewShape(w, r, rv), state: rv.state.toLowerCase() };
  return { action, review, pull_request: pullWebhookShape(w, r, p, c), ...envelope(w, r, sender) };
}

export interface PushCommit { info: CommitInfo; added: string[]; removed: string[]; modified: string[] }

export function pushPayload(w: SimWorld, r: Repo, o: { ref: string; before: string; after: string; created: boolean; deleted: boolean; forced: boolean; commits: PushCommit[]; pusher: string }): J {
  const html = `${w.baseUrl}/${r.owner}/${r.name}`;
  const identity = (i: CommitInfo["author"]) => {
    const u = [...w.users.values()].find((x) => x.email.toLowerCase() === i.email.toLowerCase());
    return { name: i.name, email: emailOrNull(i.email), date: iso(i.date), ...(u ? { username: u.login } : {}) };
  };
  const commit = (c: PushCommit) => ({
    id: c.info.sha, tree_id: c.info.tree, distinct: true, message: c.info.message.replace(/\n$/, ""), timestamp: iso(c.info.committer.date),
    url: `${html}/commit/${c.info.sha}`, author: identity(c.info.author), committer: identity(c.info.committer),
    added: c.added, removed: c.removed, modified: c.modified,
  });
  const pusher = w.user(o.pusher);
  const last = o.commits[o.commits.length - 1];
  return {
    ref: o.ref, before: o.before, after: o.after, created: o.created, deleted: o.deleted, forced: o.forced, base_ref: null,
    compare: o.created ? `${html}/compare/${o.ref.replace(/^refs\/heads\//, "")}` : `${html}/compare/${o.before.slice(0, 12)}...${o.after.slice(0, 12)}`,
    commits: o.commits.slice(-20).map(commit), head_commit: last ? commit(last) : null,
    pusher: { name: pusher.login, email: pusher.type === "Bot" ? null : emailOrNull(pusher.email) },
    ...envelope(w, r, o.pusher),
  };
}

export function checkSuitePayload(w: SimWorld, r: Repo, s: CheckSuite, runs: CheckRun[], pulls: J[], head: CommitInfo, action: string, sender: string): J {
  const ident = (i: CommitInfo["author"]) => ({ name: i.name, email: emailOrNull(i.email), date: iso(i.date) });
  return {
    action,
    check_suite: {
      ...checkSuiteShape(w, r, s, runs, pulls),
      head_commit: { id: head.sha, tree_id: head.tree, message: head.message.replace(/\n$/, ""), timestamp: iso(head.committer.date), author: ident(head.author), committer: ident(head.committer) },
    },
    ...envelope(w, r, sender),
  };
}

export function checkRunPayload(w: SimWorld, r: Repo, c: CheckRun, suite: CheckSuite, runs: CheckRun[], pulls: J[], action: string, sender: string): J {
  const run = checkRunShape(w, r, c, pulls);
  return {
    action,
    check_run: { ...run, check_suite: checkSuiteShape(w, r, suite, runs, pulls) },
    ...envelope(w, r, sender),
  };
}
