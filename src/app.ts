// Probot entry: maps GitHub events to use cases and nothing more. Payloads only say which PR or
// commit to look at; every decision is made from fresh API reads (src/usecases/*).
import type { Context, Probot } from "probot";
import { deliveryProcessed, markDeliveryProcessed } from "./db/deliveries.ts";
import type { Octokit } from "./github/octokit.ts";
import { enqueueRefusalPr } from "./jobs/refusal-pr.ts";
import { autoMergeIfApproved } from "./usecases/auto-merge.ts";
import { CHECK_NAME, notAccessCheck, recheckClosed, runCheck, type CheckOptions } from "./usecases/check.ts";
import type { AppDeps } from "./usecases/context.ts";
import { breakGlassOnCheck } from "./usecases/break-glass.ts";
import { handleMerged } from "./usecases/merge.ts";
import { dashboardChanged, dashboardEdited, pullRequestClosed } from "./usecases/pending.ts";
import { handlePush } from "./usecases/push.ts";
import { recordBranchPush, recordPusherOf } from "./usecases/record-pusher.ts";
import { gateRepository, type Gate } from "./usecases/repository-gate.ts";

type AnyContext = Context<"pull_request" | "pull_request_review" | "push" | "check_run" | "check_suite" | "installation" | "issues">;

/** Runs a handler once per delivery id and records its outcome. */
async function once(deps: AppDeps, context: AnyContext, fn: () => Promise<string>): Promise<void> {
  const action = (context.payload as { action?: string }).action;
  if (await deliveryProcessed(deps.state, { id: context.id, event: context.name, action })) {
    deps.log.info({ delivery: context.id, event: context.name }, "delivery already processed");
    return;
  }
  const outcome = await fn();
  await markDeliveryProcessed(deps.state, context.id, outcome);
}

/** I10: only the operator's access repositories (by name and pinned id, as the API reports it) reach the use cases. */
function gate(deps: AppDeps, context: AnyContext): Promise<Gate> {
  const { owner, repo } = context.repo();
  const id = (context.payload as { repository?: { id?: number } }).repository?.id;
  const fresh = async () => (await (context.octokit as unknown as Octokit).rest.repos.get({ owner, repo })).data.id;
  return gateRepository(deps, `${owner}/${repo}`, id, fresh);
}

export function createApp(deps: AppDeps) {
  return (app: Probot): void => {
    const octo = (c: AnyContext) => c.octokit as unknown as Octokit;
    // Any other repository of the installation gets a neutral check that says so, and nothing else.
    const check = async (c: AnyContext, n: number, checkRunId?: number, g?: Gate, opts?: CheckOptions): Promise<string> => {
      const access = g ?? await gate(deps, c);
      if (!access.ok) return notAccessCheck(deps, octo(c), c.repo(), n, access.problem, checkRunId);
      const out = await runCheck(deps, octo(c), c.repo(), n, checkRunId, opts);
      await breakGlassOnCheck(deps, octo(c), c.repo(), n, out.decision); // policy-enabled exception to I1 (src/usecases/break-glass.ts)
      await autoMergeIfApproved(deps, octo(c), c.repo(), n, out); // auto_approve: the app merges at the evaluated head
      return out.conclusion;
    };

    app.on(["pull_request.opened", "pull_request.reopened", "pull_request.synchronize", "pull_request.ready_for_review",
      "pull_request.converted_to_draft", "pull_request.edited"], async (context) => {
      await recordPusherOf(deps, context.repo(), { ...context.payload, id: context.id }); // I13: before any evaluation
      await once(deps, context, async () => check(context, context.payload.pull_request.number));
    });

    app.on(["pull_request_review.submitted", "pull_request_review.dismissed", "pull_request_review.edited"], async (context) => {
      if (context.payload.pull_request.state !== "open") return;
      // Same head as the check before it: one check run call, and the PR's lists may be cached.
      const { head, base } = context.payload.pull_request;
      await once(deps, context, async () => check(context, context.payload.pull_request.number, undefined, undefined, { reevaluation: true, shas: { head: head.sha, base: base.sha } }));
    });

    app.on("pull_request.closed", async (context) => {
      const number = context.payload.pull_request.number;
      await once(deps, context, async () => {
        const g = await gate(deps, context);
        if (!g.ok) {
          deps.log.warn({ pr: number, code: g.problem.code }, "pull request closed in a repository that is not an access repository: nothing granted or revoked");
          return notAccessCheck(deps, octo(context), context.repo(), number, g.problem);
        }
        // The payload only routes: the merge path re-reads everything and refuses a PR the API does
        // not show as merged. Closed unmerged: the check says so (JIT_PR_NOT_MERGED), nothing is
        // ever granted (case 16).
        if (!context.payload.pull_request.merged) {
          const closed = await recheckClosed(deps, octo(context), context.repo(), number, context.payload.pull_request.head.sha);
          await pullRequestClosed(deps, `${context.repo().owner}/${context.repo().repo}`, number);
          return closed;
        }
        const outcome = await handleMerged(deps, octo(context), context.repo(), number);
        await pullRequestClosed(deps, `${context.repo().owner}/${context.repo().repo}`, number); // granted, extended, revoked or refused
        // Git true after a refusal: the app's outbox opens a PR removing the request file, the refusal in its body.
        if (outcome.kind === "refused") await enqueueRefusalPr(deps.state, { repository: `${context.repo().owner}/${context.repo().repo}`, prNumber: number, code: outcome.code, reasons: outcome.problems.map((p) => p.message) });
        deps.log.info({ pr: number, kind: outcome.kind, ...(outcome.kind === "refused" ? { code: outcome.code } : {}) }, "merged pull request handled");
        return outcome.kind;
      });
    });

    app.on("push", async (context) => {
      const p = context.payload;
      await once(deps, context, async () => {
        const g = await gate(deps, context);
        if (!g.ok) return g.problem.code;
        // I13: a push to a PR's branch while the PR is closed sends no synchronize: record it here.
        await recordBranchPush(deps, octo(context), context.repo(), {
          id: context.id, ref: p.ref, after: p.after, created: /^0+$/.test(p.before), defaultBranch: p.repository.default_branch, pusher: p.sender?.login ?? p.pusher?.name,
        });
        const r = await handlePush(deps, octo(context), context.repo(), {
          ref: p.ref, before: p.before, after: p.after, defaultBranch: p.repository.default_branch,
        });
        if (r.merged.length || r.unverified.length || r.revoked.length) await dashboardChanged(deps, `${context.repo().owner}/${context.repo().repo}`);
        return `merged=${r.merged.length} unverified=${r.unverified.length} revoked=${r.revoked.length}`;
      });
    });

    // Our own check runs: "queued" ones are computed here; GitHub's "Re-run" asks for a new one.
    app.on(["check_run.created", "check_run.rerequested"], async (context) => {
      const run = context.payload.check_run;
      if (run.name !== CHECK_NAME || (deps.appId !== undefined && run.app?.id !== deps.appId)) return;
      if (context.payload.action === "created" && run.status !== "queued") return;
      const prs = run.pull_requests.length ? run.pull_requests.map((p) => p.number) : await prsForSha(octo(context), context.repo(), run.head_sha);
      await once(deps, context, async () => {
        const g = await gate(deps, context);
        const results: string[] = [];
        for (const n of prs) results.push(await check(context, n, context.payload.action === "created" ? run.id : undefined, g));
        return results.join(",") || "no pull request";
      });
    });

    app.on(["check_suite.requested", "check_suite.rerequested"], async (context) => {
      const suite = context.payload.check_suite;
      const prs = suite.pull_requests.length ? suite.pull_requests.map((p) => p.number) : [];
      if (context.payload.action === "requested") return; // PR events already create the check
      await once(deps, context, async () => {
        const g = await gate(deps, context);
        for (const n of prs) await check(context, n, undefined, g);
        return `${prs.length} re-evaluated`;
      });
    });

    // The dashboard issue edited by someone else: restored at once (the app's own edits are skipped).
    app.on("issues.edited", async (context) => {
      if (context.payload.sender?.type === "Bot") return;
      const { owner, repo } = context.repo();
      await once(deps, context, async () => dashboardEdited(deps, `${owner}/${repo}`, context.payload.issue.number));
    });

    app.on(["installation.created", "installation.deleted", "installation.new_permissions_accepted"], async (context) => {
      deps.log.info({ installation: context.payload.installation.id, action: context.payload.action }, "installation event");
    });
  };
}

async function prsForSha(octokit: Octokit, ref: { owner: string; repo: string }, sha: string): Promise<number[]> {
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...ref, commit_sha: sha });
  return data.filter((p) => p.state === "open" && p.head.sha === sha).map((p) => p.number);
}
