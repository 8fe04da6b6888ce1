// The one path through which actions are carried out: merge, push, the expiry sweep, the lost-merge
// reconciler (through merge) and `jit revoke` all decide with src/core/action.ts and apply here:
// GRANT / extend / REVOKE through the engine, then the effects src/core/action-effects.ts lists
// (all through the outbox: comments and alerts once per key, tried at once; revert PRs queued after
// the revoke is recorded).
import type pg from "pg";
import { NO_POLICY, refusal, type Action, type ExtendAction, type GrantAction, type RefuseAction, type RevokeAction, type StartAction } from "../core/action.ts";
import { effectsOf, type Effect } from "../core/action-effects.ts";
import type { Decision, Problem } from "../core/problem.ts";
import { knownAccounts } from "../core/report.ts";
import type { Policy } from "../core/types.ts";
import { extendGrant } from "../db/extend.ts";
import type { GrantDetails, GrantInput, RevokeDetails } from "../db/grantor.ts";
import { enqueueReverts } from "../db/reverts.ts";
import { JitError } from "../core/errors.ts";
import type { Octokit, RepoRef } from "../github/octokit.ts";
import type { Leadership } from "../scheduler/leader.ts";
import { alertOnce } from "./alerting.ts";
import { commentOnce, postQueued, queueComment } from "./github-effects.ts";
import type { UseCaseLogger } from "./context.ts";

/** What the applier needs from the grant engine (GrantEngine has it all; the sweep's engines only revoke). */
export interface ActionEngine {
  grant?(input: GrantInput): Promise<Decision<GrantDetails>>;
  revoke(key: RevokeAction["key"], opts: { reason: string; actor: string }): Promise<Decision<RevokeDetails>>;
  /** Many due rows of one (cluster, role) at once (issue 16). */
  revokeMany?(ids: number[], opts: { reason: string; actor: string }): Promise<{ id: number; decision: Decision<RevokeDetails> }[]>;
}

export interface ApplyEnv {
  state: pg.Pool;
  log: UseCaseLogger;
  engine(policy: Policy): ActionEngine;
  /** Display time only ("until …, in 2 hours"); windows and expiry use the database clock. */
  now(): number;
  /** Called after a grant or an extension commits, so the expiry timer can re-arm. */
  onGrant?: () => void;
  /** Checked before every side effect (the sweep's leader lock). */
  leadership?: Leadership;
  /** Where comments and alerts go: the event's repository. Absent in the sweep and the CLI. */
  github?: { octokit: Octokit; ref: RepoRef; appId?: number };
}

/** What an action came to; for a merge, recorded as its outcome (a redelivery finds it). */
export type Outcome =
  | { kind: "granted" | "extended" | "revoked"; existing: boolean; expiresAt?: Date | string | null }
  | { kind: "refused"; code: string; problems: Problem[] }
  | { kind: "ignored"; why: string };

export interface Applied {
  outcome: Outcome;
  /** Recorded as final (granted, refused for good, ignored for good); false: handled again when redelivered. */
  final: boolean;
  /** The engine's answer for a revoke (the sweep reports it, `jit revoke` prints it). */
  revoke?: Decision<RevokeDetails>;
  /** The engine's answer for a start (scheduled or break-glass): its caller settles its own row. */
  grant?: Decision<GrantDetails>;
}

/** Thrown for a revoke a delivery must retry (an early revoke that failed: the sweeper revokes at expiry anyway). */
export class ApplyFailed extends JitError {}

export async function applyAction(env: ApplyEnv, action: Action): Promise<Applied> {
  switch (action.kind) {
    case "ignore":
      return { outcome: { kind: "ignored", why: action.why }, final: action.final };
    case "refuse":
      return refuse(env, action);
    case "start":
      return start(env, action);
    case "revoke":
      return (await applyRevokes(env, [action])).results[0]!.applied ?? { outcome: { kind: "revoked", existing: true }, final: true };
    case "extend": {
      const e = action.evaluation;
      const tx = new TransactionalEffects(env);
      const ext = await extendGrant(env.state, action.key, {
        durationMs: action.overlap?.durationMs ?? e.policy.durationMs, role: e.policy.role, dbUser: e.policy.dbUser, actor: action.actor, prNumber: e.pullRequest.number, approvers: action.approvers,
        ...(action.overlap ? { onlyLonger: true, byRequestId: action.overlap.requestId } : {}),
      }, (client, d) => tx.queue(client, effectsOf({ kind: "extended", action, expiresAt: d.expiresAt.getTime() }, env.now())));
      if (!ext.ok) return refuse(env, refusal(action.origin, ext.code, ext.problems, { kind: "request", known: knownOf(action) }));
      env.onGrant?.();
      env.log.info({ pr: e.pullRequest.number, database: action.key.database, requestId: action.key.requestId, expiresAt: ext.details.expiresAt.toISOString() }, "extended");
      await tx.settle(ext.details.unchanged, () => effectsOf({ kind: "extended", action, expiresAt: ext.details.expiresAt.getTime() }, env.now()));
      return { outcome: { kind: "extended", existing: ext.details.unchanged, expiresAt: ext.details.expiresAt }, final: true };
    }
    case "grant": {
      const e = action.evaluation;
      const engine = env.engine(e.basePolicy);
      if (!engine.grant) throw new Error("this engine cannot grant");
      const tx = new TransactionalEffects(env);
      const granted = await engine.grant({
        ...action.key, path: e.request.path, prNumber: e.pullRequest.number, headSha: e.pullRequest.headSha, mergeSha: e.pullRequest.mergeCommitSha,
        approvers: action.approvers, role: e.policy.role, dbUser: e.policy.dbUser, durationMs: e.policy.durationMs, actor: action.actor,
        // I17: the window opens at GitHub's merge time, whenever this delivery is handled.
        mergedAt: e.pullRequest.mergedAt,
        beforeCommit: (client, row) => tx.queue(client, effectsOf({ kind: "granted", action, expiresAt: row.expiresAt!.getTime() }, env.now())),
      });
      if (!granted.ok) return refuse(env, refusal(action.origin, granted.code, granted.problems, { kind: "request", known: knownOf(action) }));
      env.onGrant?.();
      const row = granted.details.row!;
      const until = row.expiresAt!;
      if (!granted.details.existing) {
        env.log.info({ pr: e.pullRequest.number, database: row.database, role: row.role, dbUser: row.dbUser, expiresAt: until.toISOString() }, "granted");
      }
      await tx.settle(granted.details.existing, () => effectsOf({ kind: "granted", action, expiresAt: until.getTime() }, env.now()));
      return { outcome: { kind: "granted", existing: granted.details.existing, expiresAt: until }, final: true };
    }
  }
}

/**
 * A scheduled start or a break-glass grant. Its effects (comment, alert) are carried out here when
 * `env.github` is given; a caller that grants inside its own transaction passes none and carries
 * them out after its COMMIT (`carryOut(env, startedEffects(...))`).
 */
async function start(env: ApplyEnv, a: StartAction): Promise<Applied> {
  const engine = env.engine(a.policy);
  if (!engine.grant) throw new Error("this engine cannot grant");
  await env.leadership?.assertLeader();
  const { anchoredAt, ...g } = a.grant;
  const granted = await engine.grant({ ...a.key, ...g, prNumber: a.origin.pr, actor: a.actor, ...(anchoredAt ? { mergedAt: anchoredAt } : {}) });
  if (!granted.ok) return { outcome: { kind: "refused", code: granted.code, problems: granted.problems }, final: false, grant: granted };
  env.onGrant?.();
  const until = granted.details.row!.expiresAt!;
  await effect(env, effectsOf({ kind: "started", action: a, expiresAt: until.getTime() }, env.now()));
  return { outcome: { kind: "granted", existing: granted.details.existing, expiresAt: until }, final: true, grant: granted };
}

const knownOf = (a: GrantAction | ExtendAction) => [...knownAccounts(a.evaluation)];

/**
 * The transactional outbox for a grant or an extension: its comments are queued in the transaction
 * that records the ledger change (so a committed change always has them queued) and tried after the
 * COMMIT. A change found already made (a redelivery) queues them again by key, which adds nothing
 * unless an earlier version of the app never queued them.
 */
class TransactionalEffects {
  private readonly queued: { id: number; post: () => Promise<unknown> }[] = [];
  private readonly env: ApplyEnv;

  constructor(env: ApplyEnv) {
    this.env = env;
  }

  async queue(client: pg.PoolClient, effects: Effect[]): Promise<void> {
    const github = this.env.github;
    if (!github) return;
    for (const e of effects) {
      if (e.kind !== "comment") continue;
      const q = await queueComment(client, github, e);
      if (q) this.queued.push(q);
    }
  }

  async settle(earlier: boolean, effects: () => Effect[]): Promise<void> {
    if (earlier) {
      await effect(this.env, effects());
      return;
    }
    for (const q of this.queued) await postQueued(this.env.state, q);
  }
}

async function refuse(env: ApplyEnv, a: RefuseAction): Promise<Applied> {
  const pr = a.origin.via === "merge" ? a.origin.pr : undefined;
  env.log.warn({ pr, code: a.code, codes: a.problems.map((p) => p.code) }, a.subject.kind === "early-revoke"
    ? "early revoke refused: the grant ends at its expiry" : "merge refused: nothing granted");
  await effect(env, effectsOf({ kind: "refused", action: a }, env.now()));
  return { outcome: { kind: "refused", code: a.code, problems: a.problems }, final: a.final };
}

/**
 * Revokes, one by one or (several rows of one cluster and role, an engine that can) in one batch,
 * each followed by its effects. Every action must be allowed: a pending early revoke is a
 * programming error. The batch runs with the first action's policy: the sweep groups rows of one
 * repository, cluster, connection and role. A row closed meanwhile (another sweeper, an early
 * revoke) is left out of a batch: it has no decision. `settled` hears each result as soon as the
 * revoke is recorded, before its effects (which may stop on a lost leader lock).
 */
export async function applyRevokes(
  env: ApplyEnv, actions: RevokeAction[], settled?: (action: RevokeAction, applied: Applied | null) => void,
): Promise<{ results: { action: RevokeAction; applied: Applied | null }[]; revertsQueued: number }> {
  if (actions.some((a) => a.authority !== "allowed")) throw new Error("an early revoke must be authorised by revoke_by before it is applied");
  const first = actions[0];
  const out = { results: [] as { action: RevokeAction; applied: Applied | null }[], revertsQueued: 0 };
  if (!first) return out;
  const engine = env.engine(first.policy ?? NO_POLICY);
  if (actions.length > 1 && engine.revokeMany && actions.every((a) => a.ledgerId !== undefined)) {
    await env.leadership?.assertLeader(); // before the side effect: REVOKE and ending sessions
    const outcomes = new Map((await engine.revokeMany(actions.map((a) => a.ledgerId!), { reason: first.reason, actor: first.actor })).map((o) => [o.id, o.decision]));
    const effects: Effect[] = [];
    for (const a of actions) {
      const d = outcomes.get(a.ledgerId!);
      const applied = d ? settle(env, a, d, effects) : null;
      out.results.push({ action: a, applied });
      settled?.(a, applied);
    }
    out.revertsQueued += await effect(env, effects);
    return out;
  }
  for (const [i, a] of actions.entries()) {
    const e = i === 0 ? engine : env.engine(a.policy ?? NO_POLICY);
    await env.leadership?.assertLeader(); // before the side effect: REVOKE and ending sessions
    const effects: Effect[] = [];
    const applied = settle(env, a, await e.revoke(a.key, { reason: a.reason, actor: a.actor }), effects);
    out.results.push({ action: a, applied });
    settled?.(a, applied);
    out.revertsQueued += await effect(env, effects);
  }
  return out;
}

/** The engine's answer as an outcome; collects the effects of a revoke that happened (or had happened). */
function settle(env: ApplyEnv, a: RevokeAction, d: Decision<RevokeDetails>, effects: Effect[]): Applied {
  if (!d.ok) {
    if (a.retryOnFailure) {
      // Not recorded as final: a redelivery retries, and the sweeper revokes at expiry anyway.
      env.log.error({ code: d.code, database: a.key.database, requestId: a.key.requestId }, "early revoke failed; the sweeper retries at expiry");
      throw new ApplyFailed(d.code, `early revoke of ${a.key.database}/${a.key.requestId} failed: ${d.code}`);
    }
    return { outcome: { kind: "refused", code: d.code, problems: d.problems }, final: false, revoke: d };
  }
  const row = d.details.row;
  effects.push(...effectsOf({ kind: "revoked", action: a, alreadyClosed: d.details.alreadyClosed, message: d.message,
    row: row ? { id: row.id, path: row.path, status: row.status, revokeReason: row.revokeReason } : null }, env.now()));
  if (!d.details.alreadyClosed && (a.origin.via === "merge" || a.origin.via === "push")) {
    env.log.info({ database: a.key.database, requestId: a.key.requestId, via: a.origin.via }, "revoked early");
  }
  return { outcome: { kind: "revoked", existing: d.details.alreadyClosed }, final: true, revoke: d };
}

/**
 * Carries effects out, all through the outbox: revert PRs queued (after the revokes, never before;
 * drained by other work), comments and alerts queued once per key and tried at once
 * (github-effects.ts). Returns how many revert PRs were queued now.
 */
export async function carryOut(env: ApplyEnv, effects: Effect[]): Promise<number> {
  return effect(env, effects);
}

async function effect(env: ApplyEnv, effects: Effect[]): Promise<number> {
  const reverts = effects.flatMap((e) => (e.kind === "revert-pr" ? [e.grant] : []));
  let queued = 0;
  if (reverts.length) {
    await env.leadership?.assertLeader();
    queued = await enqueueReverts(env.state, reverts);
  }
  for (const e of effects) {
    if (e.kind === "revert-pr" || !env.github) continue;
    const { octokit, ref, appId } = env.github;
    if (e.kind === "alert") {
      await alertOnce(env.state, octokit, ref, e.alert, appId);
      continue;
    }
    if (e.kind === "close-pr") {
      await octokit.rest.pulls.update({ ...ref, pull_number: e.pr, state: "closed" });
      continue;
    }
    await commentOnce(env.state, env.github, e);
  }
  return queued;
}
