// The GitHub side effects of an applied action, as data: which comment on which PR (once per key),
// which alert, which revert PR. Pure; usecases/apply-action.ts carries them out. The texts come
// from the renderers in messages.ts, so everything a request or a PR holds arrives inert (I19).
import type { GrantAction, ExtendAction, RefuseAction, RevokeAction, StartAction } from "./action.ts";
import { breakGlassExpiredAlert, breakGlassExpiredComment, breakGlassGrantedAlert, breakGlassGrantedComment } from "./break-glass-messages.ts";
import { scheduleActivatedComment } from "./schedule-messages.ts";
import { EXPIRY_REASON } from "./action.ts";
import type { Md } from "./inert.ts";
import {
  earlyRevokeComment, earlyRevokeRefusedAlert, earlyRevokeRefusedComment, extendedComment, grantedComment, mergeRefusedAlert, pushRevokeRefusedAlert,
  refusalComment, requesterLine, type AlertText,
} from "./messages.ts";

export type Effect =
  /** A comment on the PR, posted once per key across replicas and redeliveries. */
  | { kind: "comment"; pr: number; key: string; body: Md }
  /** A jit-alert issue, once per incident. */
  | { kind: "alert"; alert: AlertText }
  /** The revert PR of an expired or operator-revoked grant, queued in the outbox after the revoke is recorded. */
  | { kind: "revert-pr"; grant: { id: number; repository: string; database: string; requestId: string; path: string } }
  /** Close the PR (a break-glass request never confirmed). */
  | { kind: "close-pr"; pr: number };

/** What applying did, as far as the effects care. */
export type Done =
  | { kind: "granted" | "extended"; action: GrantAction | ExtendAction; expiresAt: number }
  | { kind: "revoked"; action: RevokeAction; alreadyClosed: boolean; message: string; row: { id: number; path: string; status: string; revokeReason: string | null } | null }
  | { kind: "refused"; action: RefuseAction }
  | { kind: "started"; action: StartAction; expiresAt: number };

function grantText(a: GrantAction | ExtendAction, expiresAt: number) {
  const p = a.evaluation.policy;
  return { role: p.role, dbUser: p.dbUser, database: p.database, expiresAt, approvers: a.approvers };
}

export function effectsOf(done: Done, now: number): Effect[] {
  const origin = done.action.origin;
  switch (done.kind) {
    case "granted": {
      if (origin.via !== "merge") return [];
      const k = done.action.key;
      return [{ kind: "comment", pr: origin.pr, key: `granted:${k.repository}:${k.database}/${k.requestId}`, body: requesterLine(grantedComment(grantText(done.action, done.expiresAt), now), done.action.evaluation.requester) }];
    }
    case "extended":
      if (origin.via !== "merge") return [];
      return [{ kind: "comment", pr: origin.pr, key: `extended:${origin.repository}#${origin.pr}`, body: requesterLine(extendedComment(grantText(done.action, done.expiresAt), now), done.action.evaluation.requester) }];
    case "started":
      return startedEffects(done.action, done.expiresAt, now);
    case "revoked": {
      const k = done.action.key;
      const bg = done.action.breakGlass;
      if (bg && origin.via === "break-glass") {
        const text = { pr: origin.pr, requester: bg.requester, requestId: k.requestId, database: k.database, deadline: bg.deadline };
        return [
          { kind: "alert", alert: breakGlassExpiredAlert(text) },
          { kind: "comment", pr: origin.pr, key: `break-glass-expired:${k.repository}:${k.database}/${k.requestId}`,
            body: breakGlassExpiredComment(text, done.alreadyClosed ? "the access had already ended" : `revoked (${done.message})`) },
          { kind: "close-pr", pr: origin.pr },
        ];
      }
      // After the revoke, never before; also when another sweeper closed it for expiry (idempotent).
      // Git true after every revoke: an operator's (`jit revoke`) gets the same revert PR, one per request.
      if (done.row && done.row.status === "revoked" && (done.row.revokeReason === EXPIRY_REASON || origin.via === "operator")) {
        return [{ kind: "revert-pr", grant: { id: done.row.id, repository: k.repository, database: k.database, requestId: k.requestId, path: done.row.path } }];
      }
      if (origin.via === "merge" && !done.alreadyClosed) {
        return [{ kind: "comment", pr: origin.pr, key: `revoked:${origin.repository}:${k.database}/${k.requestId}`,
          body: earlyRevokeComment({ requestId: k.requestId, database: k.database, outcome: done.message }) }];
      }
      return [];
    }
    case "refused":
      return refusalEffects(done.action);
  }
}

function refusalEffects(a: RefuseAction): Effect[] {
  const o = a.origin;
  const s = a.subject;
  if (o.via === "push" && s.kind === "early-revoke") {
    return [{ kind: "alert", alert: pushRevokeRefusedAlert({ path: o.path, commit: o.commit, branch: o.branch }) }];
  }
  if (o.via !== "merge") return [];
  if (s.kind === "early-revoke") {
    return [
      { kind: "comment", pr: o.pr, key: `revoke-refused:${o.repository}#${o.pr}`, body: earlyRevokeRefusedComment(s.grant, a.problems) },
      { kind: "alert", alert: earlyRevokeRefusedAlert(o.pr, s.grant, a.problems) },
    ];
  }
  const known = new Set(s.kind === "request" ? s.known : []);
  const out: Effect[] = [{ kind: "comment", pr: o.pr, key: `refused:${o.repository}#${o.pr}`, body: requesterLine(refusalComment(a.code, a.problems, known), s.kind === "request" ? (s.requester ?? null) : null) }];
  if (a.incident) out.push({ kind: "alert", alert: mergeRefusedAlert(o.pr, a.code, a.problems, known) });
  return out;
}

function startedEffects(a: StartAction, expiresAt: number, now: number): Effect[] {
  const k = a.key;
  const n = a.notice;
  if ("startsAt" in n) {
    return [{ kind: "comment", pr: a.origin.pr, key: `schedule-activated:${k.repository}:${k.database}/${k.requestId}`, body: scheduleActivatedComment({
      role: a.grant.role, dbUser: a.grant.dbUser, database: k.database, requestId: k.requestId, startsAt: n.startsAt, durationMs: a.grant.durationMs,
      approvers: a.grant.approvers, expiresAt }, now) }];
  }
  const text = { pr: a.origin.pr, requester: n.requester, role: a.grant.role, dbUser: a.grant.dbUser, database: k.database, requestId: k.requestId, expiresAt, deadline: n.deadline };
  return [
    { kind: "comment", pr: a.origin.pr, key: `break-glass:${k.repository}:${k.database}/${k.requestId}`, body: breakGlassGrantedComment(text, now) },
    { kind: "alert", alert: breakGlassGrantedAlert(text) },
  ];
}
