// JSON shapes exactly as GitHub returns them (every field the OpenAPI description requires).
// One builder per resource, shared by REST responses and webhook payloads.
import type { CommitInfo, DiffEntry, GitStore } from "./git-store.ts";
import { fullName, type CheckRun, type CheckSuite, type Issue, type IssueComment, type Label, type PullRequest, type Repo, type Review, type SimUser, type Team } from "./state.ts";
import type { SimWorld } from "./world.ts";

type J = Record<string, unknown>;
export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export function simpleUser(w: SimWorld, u: SimUser): J {
  const api = `${w.baseUrl}/users/${encodeURIComponent(u.login)}`;
  const html = u.type === "Bot" ? `${w.baseUrl}/apps/${encodeURIComponent(u.login.replace(/\[bot\]$/, ""))}` : `${w.baseUrl}/${encodeURIComponent(u.login)}`;
  return {
    login: u.login, id: u.id, node_id: u.nodeId,
    avatar_url: `${w.baseUrl}/avatars/u/${u.id}`, gravatar_id: "",
    url: api, html_url: html,
    followers_url: `${api}/followers`, following_url: `${api}/following{/other_user}`, gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`, subscriptions_url: `${api}/subscriptions`, organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`, events_url: `${api}/events{/privacy}`, received_events_url: `${api}/received_events`,
    type: u.type, user_view_type: "public", site_admin: false,
  };
}

export const userByLogin = (w: SimWorld, login: string) => simpleUser(w, w.user(login));

/** The `public-user` shape of GET /users/{username} (no additional properties allowed). */
export function publicUser(w: SimWorld, u: SimUser): J {
  return {
    ...simpleUser(w, u),
    name: u.name, company: null, blog: "", location: null, email: null, hireable: null, bio: null, twitter_username: null,
    public_repos: 0, public_gists: 0, followers: 0, following: 0, created_at: iso(u.createdAt), updated_at: iso(u.createdAt),
  };
}

export function appShape(w: SimWorld): J {
  const a = w.app;
  return {
    id: a.id, slug: a.slug, node_id: w.ids.nodeId("A_", a.id), client_id: a.clientId,
    owner: userByLogin(w, a.owner), name: a.name, description: "jit-access test app",
    external_url: `${w.baseUrl}/apps/${a.slug}/home`, html_url: `${w.baseUrl}/apps/${a.slug}`,
    created_at: iso(a.createdAt), updated_at: iso(a.createdAt), permissions: a.permissions, events: a.events,
  };
}

export function repoShape(w: SimWorld, r: Repo): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}`;
  const html = `${w.baseUrl}/${fullName(r)}`;
  const openIssues = [...r.issues.values()].filter((i) => i.state === "open").length;
  return {
    id: r.id, node_id: r.nodeId, name: r.name, full_name: fullName(r), owner: userByLogin(w, r.owner),
    private: r.private, html_url: html, description: null, fork: false, url: api,
    archive_url: `${api}/{archive_format}{/ref}`, assignees_url: `${api}/assignees{/user}`, blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`, collaborators_url: `${api}/collaborators{/collaborator}`, comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`, compare_url: `${api}/compare/{base}...{head}`, contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`, deployments_url: `${api}/deployments`, downloads_url: `${api}/downloads`, events_url: `${api}/events`,
    forks_url: `${api}/forks`, git_commits_url: `${api}/git/commits{/sha}`, git_refs_url: `${api}/git/refs{/sha}`, git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `git://127.0.0.1/${fullName(r)}.git`, issue_comment_url: `${api}/issues/comments{/number}`, issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`, keys_url: `${api}/keys{/key_id}`, labels_url: `${api}/labels{/name}`, languages_url: `${api}/languages`,
    merges_url: `${api}/merges`, milestones_url: `${api}/milestones{/number}`, notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`, releases_url: `${api}/releases{/id}`, ssh_url: `git@127.0.0.1:${fullName(r)}.git`,
    stargazers_url: `${api}/stargazers`, statuses_url: `${api}/statuses/{sha}`, subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`, tags_url: `${api}/tags`, teams_url: `${api}/teams`, trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`, mirror_url: null, hooks_url: `${api}/hooks`, svn_url: html, homepage: null, language: null,
    forks_count: 0, forks: 0, stargazers_count: 0, watchers_count: 0, watchers: 0, size: 1, default_branch: r.defaultBranch,
    open_issues_count: openIssues, open_issues: openIssues, is_template: false, topics: [],
    has_issues: true, has_projects: false, has_wiki: false, has_pages: false, has_downloads: true, has_discussions: false,
    archived: false, disabled: false, visibility: r.private ? "private" : "public",
    pushed_at: iso(r.pushedAt), created_at: iso(r.createdAt), updated_at: iso(r.pushedAt),
    allow_rebase_merge: true, allow_squash_merge: true, allow_merge_commit: true, allow_auto_merge: false,
    delete_branch_on_merge: false, allow_forking: true, web_commit_signoff_required: false,
    license: null, network_count: 0, subscribers_count: 0,
  };
}

/** Webhook `repository` objects carry timestamps of push/creation as in GitHub's payloads. */
export function repoWebhookShape(w: SimWorld, r: Repo): J {
  return { ...repoShape(w, r), custom_properties: {} };
}

export function labelShape(w: SimWorld, r: Repo, l: Label): J {
  return { id: l.id, node_id: l.nodeId, url: `${w.baseUrl}/repos/${fullName(r)}/labels/${encodeURIComponent(l.name)}`, name: l.name, description: l.description, color: l.color, default: false };
}

function issueLabels(w: SimWorld, r: Repo, i: Issue): J[] {
  return i.labels.map((n) => r.labels.get(n.toLowerCase())).filter((l): l is Label => !!l).map((l) => labelShape(w, r, l));
}

export function issueShape(w: SimWorld, r: Repo, i: Issue): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}/issues/${i.number}`;
  const html = `${w.baseUrl}/${fullName(r)}/${i.pull ? "pull" : "issues"}/${i.number}`;
  const comments = [...r.comments.values()].filter((c) => c.number === i.number).length;
  return {
    id: i.id, node_id: i.nodeId, url: api, repository_url: `${w.baseUrl}/repos/${fullName(r)}`,
    labels_url: `${api}/labels{/name}`, comments_url: `${api}/comments`, events_url: `${api}/events`, html_url: html,
    number: i.number, state: i.state, state_reason: i.stateReason, title: i.title, body: i.body,
    user: userByLogin(w, i.user), labels: issueLabels(w, r, i),
    assignee: i.assignees[0] ? userByLogin(w, i.assignees[0]) : null, assignees: i.assignees.map((a) => userByLogin(w, a)),
    milestone: null, locked: false, active_lock_reason: null, comments,
    closed_at: i.closedAt ? iso(i.closedAt) : null, created_at: iso(i.createdAt), updated_at: iso(i.updatedAt),
    closed_by: i.closedBy ? userByLogin(w, i.closedBy) : null,
    author_association: w.authorAssociation(r, i.user),
    performed_via_github_app: i.viaApp ? appShape(w) : null,
    ...(i.pull ? { pull_request: { url: `${w.baseUrl}/repos/${fullName(r)}/pulls/${i.number}`, html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`, merged_at: i.pull.mergedAt ? iso(i.pull.mergedAt) : null } } : {}),
    draft: i.pull ? i.pull.draft : undefined,
    reactions: { url: `${api}/reactions`, total_count: 0, "+1": 0, "-1": 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
  };
}

export function commentShape(w: SimWorld, r: Repo, c: IssueComment): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}/issues/comments/${c.id}`;
  return {
    id: c.id, node_id: c.nodeId, url: api, html_url: `${w.baseUrl}/${fullName(r)}/issues/${c.number}#issuecomment-${c.id}`,
    issue_url: `${w.baseUrl}/repos/${fullName(r)}/issues/${c.number}`, body: c.body, user: userByLogin(w, c.user),
    created_at: iso(c.createdAt), updated_at: iso(c.updatedAt), author_association: w.authorAssociation(r, c.user),
    performed_via_github_app: c.viaApp ? appShape(w) : null,
    reactions: { url: `${api}/reactions`, total_count: 0, "+1": 0, "-1": 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
  };
}

export interface PullComputed { baseSha: string; mergeable: boolean | null; mergeableState: string; additions: number; deletions: number; changedFiles: number; commits: number }

function branchSide(w: SimWorld, r: Repo, ref: string, sha: string): J {
  return { label: `${r.owner}:${ref}`, ref, sha, user: userByLogin(w, r.owner), repo: repoShape(w, r) };
}

/** The `pull-request-simple` fields (list) — `pullShape` adds the computed detail fields. */
export function pullSimpleShape(w: SimWorld, r: Repo, p: PullRequest, baseSha: string): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}/pulls/${p.number}`;
  const html = `${w.baseUrl}/${fullName(r)}/pull/${p.number}`;
  const issueApi = `${w.baseUrl}/repos/${fullName(r)}/issues/${p.number}`;
  return {
    url: api, id: p.id, node_id: p.nodeId, html_url: html, diff_url: `${html}.diff`, patch_url: `${html}.patch`, issue_url: issueApi,
    commits_url: `${api}/commits`, review_comments_url: `${api}/comments`, review_comment_url: `${w.baseUrl}/repos/${fullName(r)}/pulls/comments{/number}`,
    comments_url: `${issueApi}/comments`, statuses_url: `${w.baseUrl}/repos/${fullName(r)}/statuses/${p.pull.headSha}`,
    number: p.number, state: p.state, locked: false, title: p.title, user: userByLogin(w, p.user), body: p.body,
    labels: issueLabels(w, r, p), milestone: null, active_lock_reason: null,
    created_at: iso(p.createdAt), updated_at: iso(p.updatedAt), closed_at: p.closedAt ? iso(p.closedAt) : null,
    merged_at: p.pull.mergedAt ? iso(p.pull.mergedAt) : null, merge_commit_sha: p.pull.mergeCommitSha,
    assignee: p.assignees[0] ? userByLogin(w, p.assignees[0]) : null, assignees: p.assignees.map((a) => userByLogin(w, a)),
    requested_reviewers: (p.pull.requestedReviewers ?? []).map((l) => userByLogin(w, l)),
    requested_teams: (p.pull.requestedTeams ?? []).flatMap((slug) => { const t = w.team(r.owner, slug); return t ? [teamShape(w, t)] : []; }),
    draft: p.pull.draft,
    head: branchSide(w, r, p.pull.headRef, p.pull.headSha), base: branchSide(w, r, p.pull.baseRef, baseSha),
    _links: {
      self: { href: api }, html: { href: html }, issue: { href: issueApi }, comments: { href: `${issueApi}/comments` },
      review_comments: { href: `${api}/comments` }, review_comment: { href: `${w.baseUrl}/repos/${fullName(r)}/pulls/comments{/number}` },
      commits: { href: `${api}/commits` }, statuses: { href: `${w.baseUrl}/repos/${fullName(r)}/statuses/${p.pull.headSha}` },
    },
    author_association: w.authorAssociation(r, p.user), auto_merge: null,
  };
}

export function pullShape(w: SimWorld, r: Repo, p: PullRequest, c: PullComputed): J {
  return {
    ...pullSimpleShape(w, r, p, c.baseSha),
    merged: p.pull.merged, mergeable: c.mergeable, rebaseable: c.mergeable, mergeable_state: c.mergeableState,
    merged_by: p.pull.mergedBy ? userByLogin(w, p.pull.mergedBy) : null,
    comments: [...r.comments.values()].filter((x) => x.number === p.number).length, review_comments: 0,
    maintainer_can_modify: p.pull.maintainerCanModify, commits: c.commits, additions: c.additions, deletions: c.deletions, changed_files: c.changedFiles,
  };
}

export function pullMinimalShape(w: SimWorld, r: Repo, p: PullRequest, baseSha: string): J {
  const repo = { id: r.id, url: `${w.baseUrl}/repos/${fullName(r)}`, name: r.name };
  return {
    id: p.id, number: p.number, url: `${w.baseUrl}/repos/${fullName(r)}/pulls/${p.number}`,
    head: { ref: p.pull.headRef, sha: p.pull.headSha, repo }, base: { ref: p.pull.baseRef, sha: baseSha, repo },
  };
}

export function reviewShape(w: SimWorld, r: Repo, rv: Review): J {
  const html = `${w.baseUrl}/${fullName(r)}/pull/${rv.number}#pullrequestreview-${rv.id}`;
  const prApi = `${w.baseUrl}/repos/${fullName(r)}/pulls/${rv.number}`;
  return {
    id: rv.id, node_id: rv.nodeId, user: userByLogin(w, rv.user), body: rv.body, state: rv.state, html_url: html,
    pull_request_url: prApi, _links: { html: { href: html }, pull_request: { href: prApi } },
    submitted_at: iso(rv.submittedAt), commit_id: rv.commitId, author_association: w.authorAssociation(r, rv.user),
  };
}

export function gitCommitShape(w: SimWorld, r: Repo, c: CommitInfo): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}`;
  return {
    sha: c.sha, node_id: w.ids.nodeId("C_", parseInt(c.sha.slice(0, 8), 16)), url: `${api}/git/commits/${c.sha}`,
    html_url: `${w.baseUrl}/${fullName(r)}/commit/${c.sha}`,
    author: { name: c.author.name, email: c.author.email, date: iso(c.author.date) },
    committer: { name: c.committer.name, email: c.committer.email, date: iso(c.committer.date) },
    tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` }, message: c.message.replace(/\n$/, ""),
    parents: c.parents.map((p) => ({ sha: p, url: `${api}/git/commits/${p}`, html_url: `${w.baseUrl}/${fullName(r)}/commit/${p}` })),
    verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
  };
}

/** Maps a commit identity back to a simulated user by email (as GitHub links commits to accounts). */
export function userForEmail(w: SimWorld, email: string): SimUser | undefined {
  for (const u of w.users.values()) if (u.email.toLowerCase() === email.toLowerCase()) return u;
  return undefined;
}

/** The `commit` shape (pulls/list-commits, branches). */
export function commitShape(w: SimWorld, r: Repo, c: CommitInfo): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}`;
  const author = userForEmail(w, c.author.email);
  const committer = userForEmail(w, c.committer.email);
  return {
    sha: c.sha, node_id: w.ids.nodeId("C_", parseInt(c.sha.slice(0, 8), 16)), url: `${api}/commits/${c.sha}`,
    html_url: `${w.baseUrl}/${fullName(r)}/commit/${c.sha}`, comments_url: `${api}/commits/${c.sha}/comments`,
    commit: {
      url: `${api}/git/commits/${c.sha}`, message: c.message.replace(/\n$/, ""), comment_count: 0,
      author: { name: c.author.name, email: c.author.email, date: iso(c.author.date) },
      committer: { name: c.committer.name, email: c.committer.email, date: iso(c.committer.date) },
      tree: { sha: c.tree, url: `${api}/git/trees/${c.tree}` },
      verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
    },
    author: author ? simpleUser(w, author) : null, committer: committer ? simpleUser(w, committer) : null,
    parents: c.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${w.baseUrl}/${fullName(r)}/commit/${p}` })),
  };
}

export function diffEntryShape(w: SimWorld, r: Repo, headSha: string, d: DiffEntry, patch: string | null): J {
  const enc = d.filename.split("/").map(encodeURIComponent).join("/");
  return {
    sha: d.sha, filename: d.filename, status: d.status, additions: d.additions, deletions: d.deletions, changes: d.additions + d.deletions,
    blob_url: `${w.baseUrl}/${fullName(r)}/blob/${headSha}/${enc}`, raw_url: `${w.baseUrl}/${fullName(r)}/raw/${headSha}/${enc}`,
    contents_url: `${w.baseUrl}/repos/${fullName(r)}/contents/${enc}?ref=${headSha}`,
    ...(patch !== null ? { patch } : {}), ...(d.previousFilename !== undefined ? { previous_filename: d.previousFilename } : {}),
  };
}

export function checkSuiteShape(w: SimWorld, r: Repo, s: CheckSuite, runs: CheckRun[], pulls: J[]): J {
  const allDone = runs.length > 0 && runs.every((x) => x.status === "completed");
  const conclusion = !allDone ? null : runs.some((x) => x.conclusion === "failure") ? "failure" : runs.some((x) => x.conclusion === "action_required") ? "action_required" : "success";
  return {
    id: s.id, node_id: s.nodeId, head_branch: s.headBranch, head_sha: s.headSha,
    status: runs.length === 0 ? "queued" : allDone ? "completed" : "in_progress", conclusion,
    url: `${w.baseUrl}/repos/${fullName(r)}/check-suites/${s.id}`, before: s.before, after: s.after,
    pull_requests: pulls, app: appShape(w), created_at: iso(s.createdAt), updated_at: iso(s.updatedAt),
    latest_check_runs_count: runs.length, check_runs_url: `${w.baseUrl}/repos/${fullName(r)}/check-suites/${s.id}/check-runs`,
    rerequestable: true, runs_rerequestable: true,
  };
}

export function checkRunShape(w: SimWorld, r: Repo, c: CheckRun, pulls: J[]): J {
  const api = `${w.baseUrl}/repos/${fullName(r)}/check-runs/${c.id}`;
  return {
    id: c.id, node_id: c.nodeId, head_sha: c.headSha, external_id: c.externalId, url: api,
    html_url: `${w.baseUrl}/${fullName(r)}/runs/${c.id}`, details_url: c.detailsUrl, status: c.status, conclusion: c.conclusion,
    started_at: iso(c.startedAt), completed_at: c.completedAt ? iso(c.completedAt) : null,
    output: { title: c.output.title, summary: c.output.summary, text: c.output.text, annotations_count: c.annotations.length, annotations_url: `${api}/annotations` },
    name: c.name, check_suite: { id: c.suiteId }, app: appShape(w), pull_requests: pulls,
  };
}

export function annotationShape(w: SimWorld, r: Repo, c: CheckRun, a: CheckRun["annotations"][number]): J {
  return { ...a, blob_href: `${w.baseUrl}/${fullName(r)}/blob/${c.headSha}/${a.path}` };
}

export function teamShape(w: SimWorld, t: Team): J {
  const api = `${w.baseUrl}/organizations/${w.user(t.org).id}/team/${t.id}`;
  const org = w.user(t.org);
  const orgApi = `${w.baseUrl}/orgs/${org.login}`;
  return {
    id: t.id, node_id: t.nodeId, url: api, html_url: `${w.baseUrl}/orgs/${t.org}/teams/${t.slug}`, name: t.name, slug: t.slug,
    description: null, privacy: "closed", notification_setting: "notifications_enabled", permission: "pull",
    members_url: `${api}/members{/member}`, repositories_url: `${api}/repos`, parent: null, type: "organization",
    members_count: [...t.members.values()].filter((m) => m.state === "active").length, repos_count: 0,
    created_at: iso(t.createdAt), updated_at: iso(t.createdAt),
    organization: {
      login: org.login, id: org.id, node_id: org.nodeId, url: orgApi, repos_url: `${orgApi}/repos`, events_url: `${orgApi}/events`,
      hooks_url: `${orgApi}/hooks`, issues_url: `${orgApi}/issues`, members_url: `${orgApi}/members{/member}`,
      public_members_url: `${orgApi}/public_members{/member}`, avatar_url: `${w.baseUrl}/avatars/u/${org.id}`, description: null,
      html_url: `${w.baseUrl}/${org.login}`, has_organization_projects: false, has_repository_projects: false,
      public_repos: 0, public_gists: 0, followers: 0, following: 0, type: "Organization",
      created_at: iso(org.createdAt), updated_at: iso(org.createdAt), archived_at: null,
    },
  };
}

export function orgWebhookShape(w: SimWorld, login: string): J {
  const org = w.user(login);
  const api = `${w.baseUrl}/orgs/${org.login}`;
  return {
    login: org.login, id: org.id, node_id: org.nodeId, url: api, repos_url: `${api}/repos`, events_url: `${api}/events`,
    hooks_url: `${api}/hooks`, issues_url: `${api}/issues`, members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`, avatar_url: `${w.baseUrl}/avatars/u/${org.id}`, description: null,
  };
}

export function installationShape(w: SimWorld, id: number): J {
  const inst = w.installations.get(id)!;
  const account = w.user(inst.account);
  return {
    id, account: simpleUser(w, account), repository_selection: "all",
    access_tokens_url: `${w.baseUrl}/app/installations/${id}/access_tokens`, repositories_url: `${w.baseUrl}/installation/repositories`,
    html_url: `${w.baseUrl}/settings/installations/${id}`, app_id: w.app.id, app_slug: w.app.slug, client_id: w.app.clientId,
    target_id: account.id, target_type: account.type === "Organization" ? "Organization" : "User",
    permissions: w.app.permissions, events: w.app.events, created_at: iso(inst.createdAt), updated_at: iso(inst.createdAt),
    single_file_name: null, has_multiple_single_files: false, single_file_paths: [], suspended_by: null, suspended_at: null,
  };
}

/** Tree entries in GitHub's `git/trees` shape. */
export const TREE_ENTRIES_CAP = 100_000;

export async function treeShape(w: SimWorld, r: Repo, git: GitStore, sha: string, recursive: boolean): Promise<J> {
  const api = `${w.baseUrl}/repos/${fullName(r)}`;
  const all = await git.lsTree(sha, { recursive });
  // GitHub cuts a tree at 100 000 entries and says so with `truncated`.
  const entries = all.slice(0, TREE_ENTRIES_CAP);
  return {
    sha, url: `${api}/git/trees/${sha}`, truncated: all.length > TREE_ENTRIES_CAP,
    tree: entries.map((e) => ({
      path: e.path, mode: e.mode, type: e.type, sha: e.sha,
      ...(e.type === "blob" ? { size: e.size ?? 0, url: `${api}/git/blobs/${e.sha}` } : e.type === "tree" ? { url: `${api}/git/trees/${e.sha}` } : {}),
    })),
  };
}
