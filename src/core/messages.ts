// The app's comments, alert issues and revert PRs, as pure renderers. Every value that a request,
// a PR, the ledger or a catalog holds goes through inert.ts (I19); only the literal words are the
// app's own. Time comes in as a parameter.
import { renderActivity, type ActivitySummary } from "./activity.ts";
import type { JitCode } from "./codes.ts";
import { code, codeBlock, jitCode, joinMd, marker, md, mention, plain, text, type Md, type Plain } from "./inert.ts";
import type { Problem } from "./problem.ts";
import { problemLine, relative, utc } from "./report.ts";

/** An alert issue before the adapter adds its label and hidden key. */
export interface AlertText {
  code: JitCode;
  /** Stable identity of the incident, e.g. "merge:42" or "push:<sha>:<path>"; percent-encoded in the marker. */
  key: string;
  title: Plain;
  body: Md;
}

const mentions = (logins: readonly string[]) => joinMd(logins.map(mention), ", ");
const problemList = (problems: readonly Problem[], known: ReadonlySet<string>) => joinMd(problems.map((p) => problemLine(p, known)), "\n");
const until = (at: number, now: number) => md`${utc(at)} (${relative(at, now)})`;

export interface GrantText {
  role: string;
  dbUser: string;
  database: string;
  expiresAt: number;
  approvers: readonly string[];
}

export function grantedComment(g: GrantText, now: number): Md {
  return md`✅ **jit-access**: granted ${code(g.role)} to ${code(g.dbUser)} on ${code(g.database)} until ${until(g.expiresAt, now)}. Approved by ${mentions(g.approvers)}.`;
}

export function extendedComment(g: GrantText, now: number): Md {
  return md`⏱️ **jit-access**: extended ${code(g.role)} for ${code(g.dbUser)} on ${code(g.database)} until ${until(g.expiresAt, now)}. Approved by ${mentions(g.approvers)}.`;
}

/** `outcome`: the engine's sentence about what the revoke did (sessions ended, verified). */
export function earlyRevokeComment(r: { requestId: string; database: string; outcome: string }): Md {
  return md`🔒 **jit-access**: revoked ${code(r.requestId)} on ${code(r.database)} now (early revoke); ${r.outcome}.`;
}

/** `known`: accounts read from GitHub for this PR that messages may mention (see report.knownAccounts). */
export function refusalComment(c: JitCode, problems: readonly Problem[], known: ReadonlySet<string> = new Set()): Md {
  return md`❌ **jit-access**: nothing was granted (**${jitCode(c)}**). Merging does not grant access unless the app itself re-verifies the request at the merge commit.

${problemList(problems, known)}`;
}

/** A merged deletion that revoke_by does not allow: nothing revoked early. */
export function earlyRevokeRefusedComment(grant: string, problems: readonly Problem[]): Md {
  return md`⚠️ **jit-access**: nothing was revoked early (**${jitCode("JIT_REVOKE_NOT_AUTHORIZED")}**); the grant ${code(grant)} ends at its expiry.

${problemList(problems, new Set())}`;
}

export function earlyRevokeRefusedAlert(pr: number, grant: string, problems: readonly Problem[]): AlertText {
  return {
    code: "JIT_REVOKE_NOT_AUTHORIZED", key: `revoke:${pr}`,
    title: plain`Pull request #${pr} deleted the active request ${grant} without revoke authority`,
    body: md`Pull request #${pr} deleted the request file of an active grant, but neither the requester opened it nor an eligible approver approved it. Nothing was revoked early; the grant ends at its expiry.

${problemList(problems, new Set())}`,
  };
}

export function mergeRefusedAlert(pr: number, c: JitCode, problems: readonly Problem[], known: ReadonlySet<string> = new Set()): AlertText {
  return {
    code: "JIT_MERGE_REFUSED", key: `merge:${pr}`,
    title: plain`Merged request PR #${pr} was refused (${c})`,
    body: md`Pull request #${pr} was merged but failed re-verification, so nothing was granted.

${problemList(problems, known)}

Review how it could be merged (branch protection, bypass actors).`,
  };
}

export function unverifiedPushAlert(p: { path: string; commit: string; branch: string }): AlertText {
  return {
    code: "JIT_UNVERIFIED_PUSH", key: `push:${p.commit}:${p.path}`,
    title: plain`${p.path} reached ${p.branch} without a verified pull request`,
    body: md`Commit ${p.commit} changed ${code(p.path, 300)} on the default branch without a merged pull request the app could verify. Nothing was granted, and this request id will not be granted from this commit. Check who pushed it and why branch protection allowed it.`,
  };
}

/** More unverified request files in one push than get an alert each: one summary, the rest in the log. */
export function unverifiedPushSummaryAlert(p: { commit: string; branch: string; total: number; alerted: number }): AlertText {
  const more = p.total - p.alerted;
  return {
    code: "JIT_UNVERIFIED_PUSH", key: `push:${p.commit}:more`,
    title: plain`${more} more request files reached ${p.branch} without a verified pull request`,
    body: md`Commit ${p.commit} changed ${p.total} request files on the default branch without a merged pull request the app could verify; ${p.alerted} have their own alert, the other ${more} are in the app's log (code JIT_UNVERIFIED_PUSH). Nothing was granted from this commit.`,
  };
}

/** A webhook delivery that failed every attempt (the durable queue's dead letter). */
export function deliveryDeadAlert(j: { id: string; event: string; attempts: number; error: string }): AlertText {
  return {
    code: "JIT_DELIVERY_DEAD", key: `delivery:${j.id}`,
    title: plain`Webhook delivery ${j.id} (${j.event}) failed ${j.attempts} times`,
    body: md`The app stored this delivery but could not process it after ${j.attempts} attempts (last error: ${text(j.error, { max: 500 })}). Nothing it would have done has happened. Fix the cause, then ${code(`jit deliveries retry ${j.id}`, 200)}. A lost merge is also picked up by the merge reconciler.`,
  };
}

/** I11: branches or PRs under the app's revert naming that it did not write; never merged. */
export function revertBranchTakenAlert(r: { database: string; requestId: string; hostile: readonly string[] }): AlertText {
  return {
    code: "JIT_REVERT_BRANCH_TAKEN", key: `revert:${r.database}/${r.requestId}`,
    title: plain`Something the app did not write poses as the revert of ${r.database}/${r.requestId}`,
    body: md`The app never merges these:

${joinMd(r.hostile.map((h) => md`- ${text(h, { max: 500 })}`), "\n")}

The grant itself is revoked. Check who created them.`,
  };
}

/** I14: what a grantee changed about a role during the window that the app could not undo. */
export function windowResidueAlert(g: {
  ledgerId: number; role: string; database: string; requestId: string; residue: readonly { message: string; fix: readonly string[] }[];
}): AlertText {
  return {
    code: "JIT_WINDOW_RESIDUE", key: `residue:${g.ledgerId}`,
    title: plain`"${g.role}" on ${g.database} still carries changes made during ${g.requestId}`,
    body: md`The grant was revoked, but the app could not undo what was changed about ${code(g.role)} during the window. Until a DBA runs the fix, grants of the role may be refused (owned objects, default privileges) or a login may start as the role:

${joinMd(g.residue.map((r) => md`- ${text(r.message, { max: 1000 })}

${codeBlock("sql", r.fix)}`), "\n")}`,
  };
}

/** I12: a push whose request-file changes could not be listed completely. */
export function pushListIncompleteAlert(p: { commit: string; branch: string; dir: string; reason: string }): AlertText {
  return {
    code: "JIT_LIST_INCOMPLETE", key: `push:${p.commit}:incomplete`,
    title: plain`A push to ${p.branch} changed ${p.dir}/ in ways the app could not list`,
    body: md`Commit ${p.commit} reached the default branch without a merged pull request the app could verify, and ${text(p.reason)}, so the app cannot tell which request files it added or deleted. Nothing was granted from this commit. Check who pushed it and what it changed under ${code(`${p.dir}/`)}.`,
  };
}

/** A request file deleted by a direct push where revoke_by does not include anyone. */
export function pushRevokeRefusedAlert(p: { path: string; commit: string; branch: string }): AlertText {
  return {
    code: "JIT_REVOKE_NOT_AUTHORIZED", key: `push:${p.commit}:${p.path}`,
    title: plain`${p.path} was deleted by a direct push; the grant was not revoked early`,
    body: md`Commit ${p.commit} deleted ${code(p.path, 300)} on ${text(p.branch)} without a pull request. Its grant ends at its expiry; to end it now, the requester or an eligible approver uses a pull request.`,
  };
}

export function orphanGrantAlert(o: {
  clusterId: string; role: string; member: string; database: string; sweptAt: string;
  revoked: boolean; sessionsEnded: number; error?: string | null;
}): AlertText {
  const outcome = o.revoked ? md`revoked and ${o.sessionsEnded} session(s) ended` : md`NOT revoked: ${o.error ?? "unknown error"}`;
  return {
    code: "JIT_DRIFT_ORPHAN_GRANT", key: `orphan:${o.clusterId}:${o.role}:${o.member}:${o.sweptAt}`,
    title: plain`"${o.role}" was held by "${o.member}" on ${o.database} through the app without an active grant`,
    body: md`Reconciliation found a membership of ${code(o.role)} for ${code(o.member)} on ${code(o.database)} granted by the app's database role but not covered by an active ledger row (a ledger row deleted by hand, or a manual GRANT with the app's credentials). It was ${outcome}. Find out how it got there.`,
  };
}

export function revertFailingAlert(p: { database: string; requestId: string; attempts: number; error: string }): AlertText {
  return {
    code: "JIT_REVERT_PR_FAILED", key: `revert:${p.database}/${p.requestId}`,
    title: plain`Revert PR for ${p.database}/${p.requestId} keeps failing`,
    body: md`The grant was revoked, but the pull request deleting its request file could not be opened after ${p.attempts} attempts (last error: ${p.error}). It keeps being retried; the request id is never granted again either way.`,
  };
}

export function sweepStaleAlert(h: { lastSweepAt: string | null; databaseTime: string; message: string }): AlertText {
  return {
    code: "JIT_SWEEP_STALE", key: `stale:${h.lastSweepAt ?? "never"}`,
    title: plain`Expiry sweeps are not running: ${h.message}`,
    body: md`No expiry sweep succeeded since ${h.lastSweepAt ?? "the app started"} (database time ${h.databaseTime}). Grants are not being revoked at expiry until sweeps resume. Check the app's logs, its connection to the state database, and the backstop workflow \`revoke-expired\`.`,
  };
}

export function revokeOverdueAlert(g: { ledgerId: number; database: string; requestId: string; expiresAt: string; overdueFor: string }): AlertText {
  return {
    code: "JIT_REVOKE_OVERDUE", key: `overdue:${g.ledgerId}`,
    title: plain`${g.database}/${g.requestId} is past its expiry and not revoked`,
    body: md`The grant ${code(g.requestId)} on ${code(g.database)} expired at ${g.expiresAt} and is still active ${g.overdueFor} later. Sweeps keep retrying; the events of ledger row ${g.ledgerId} say why it failed (\`revoke_failed\`). \`jit revoke\` ${code(`${g.database}/${g.requestId}`)} \`--reason …\` revokes it by hand.`,
  };
}

export function reminderComment(r: { role: string; dbUser: string; database: string; path?: string; expiresAt: number; now: number }): Md {
  const file = r.path ? md` in ${code(r.path, 300)}` : md``;
  return md`⏳ **jit-access**: ${code(r.role)} for ${code(r.dbUser)} on ${code(r.database)} expires at ${until(r.expiresAt, r.now)}. Then the role is revoked and every session of ${code(r.dbUser)} is ended. Need longer? Open a pull request that changes only \`duration\`${file} to the new total, counted from the original grant and at most the role's \`max_duration\` (docs/requests.md, "Extending"); it needs fresh approval, and the grant keeps running meanwhile.`;
}

/** What a revert PR says about the grant it closes: the ledger's record, never request text beyond ids. */
export interface RevertText {
  database: string;
  requestId: string;
  path: string;
  requester: string | null;
  prNumber: number | null;
  role: string;
  dbUser: string;
  approvers: string[];
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  sessionsEnded: number;
  verification: { outcome?: string; membershipGone?: boolean; sessionsLeft?: number } | null;
  /** null: a refused merge, which has no ledger row. */
  ledgerId: number | null;
  /** Why the file goes (default: the grant expired). */
  ending?: RevertEnding;
  /** What the grantee did during the window, where it was sampled. */
  activity?: ActivitySummary;
}

/** An early revoke (`jit revoke`, drift, a deadline) or a refused merge: git is made true the same way as after expiry. */
export type RevertEnding =
  | { kind: "expired" }
  | { kind: "revoked"; reason: string; by: string | null }
  | { kind: "refused"; code: string; reasons: readonly string[] };

const time = (d: Date | null) => (d ? utc(d.getTime()) : "—");

/** The revert PR's hidden marker. */
export const revertMarker = (r: Pick<RevertText, "database" | "requestId">): Md => marker("jit-access:revert", `${r.database}/${r.requestId}`);

export function revertTitle(r: RevertText): Plain {
  if (r.ending?.kind === "refused") return plain`Remove refused request ${r.database}/${r.requestId}`;
  if (r.ending?.kind === "revoked") return plain`Revoke ${r.database}/${r.requestId}: ${r.role} for ${r.dbUser}`;
  return plain`Expire ${r.database}/${r.requestId}: ${r.role} for ${r.dbUser}`;
}

/** The revert commit's message (merged into the default branch: closing keywords would act). */
export function revertCommitMessage(r: RevertText): Plain {
  const why = r.ending?.kind === "refused"
    ? plain`The merge was refused (${r.ending.code}): nothing was granted.`
    : r.ending?.kind === "revoked"
      ? plain`The grant was revoked early at ${time(r.revokedAt)}.`
      : plain`The grant expired at ${time(r.expiresAt)} and was revoked at ${time(r.revokedAt)}.`;
  return plain`${revertTitle(r)}

${why}`;
}

/** A refused merge: the file says access that was never granted; the PR removes it and says why. */
function refusedBody(r: RevertText, e: { code: string; reasons: readonly string[] }): Md {
  return joinMd([
    revertMarker(r),
    md`The merge of ${r.prNumber ? md`#${r.prNumber}` : md`the request`} was refused by jit-access (**${jitCode(e.code)}**): nothing was granted.`,
    md`This pull request deletes ${code(r.path, 300)} so the default branch lists only live access. The request id stays used: merging or not, it is never granted.`,
    md``,
    ...e.reasons.slice(0, 10).map((x) => md`- ${text(x, { max: 300 })}`),
    ...(e.reasons.length > 10 ? [md`- … and ${e.reasons.length - 10} more`] : []),
    md``,
    md`| | |`,
    md`| --- | --- |`,
    md`| Request | ${code(r.requestId)} |`,
    md`| Requester | ${r.requester ? mention(r.requester) : md`—`} |`,
    md`| Database | ${code(r.database)} |`,
  ], "\n");
}

/** The PR body: the audit record of the grant. */
export function revertBody(r: RevertText): Md {
  if (r.ending?.kind === "refused") return refusedBody(r, r.ending);
  const v = r.verification;
  const verification = v
    ? md`${v.membershipGone ? "membership gone" : "membership STILL PRESENT"}, ${v.sessionsLeft ?? "?"} session(s) left${v.outcome ? md` (${v.outcome})` : md``}`
    : md`—`;
  const rows: [string, Md][] = [
    ["Request", md`${code(r.requestId)}${r.prNumber ? md` (#${r.prNumber})` : md``}`],
    ["Requester", r.requester ? mention(r.requester) : md`—`],
    ["Database", code(r.database)],
    ["Role", code(r.role)],
    ["Database user", code(r.dbUser)],
    ["Approvers", r.approvers.length ? mentions(r.approvers) : md`—`],
    ["Granted at", md`${time(r.grantedAt)}`],
    ["Expired at", md`${time(r.expiresAt)}`],
    ["Revoked at", md`${time(r.revokedAt)}`],
    ["Revoked by", r.revokedBy ? code(r.revokedBy) : md`—`],
    ["Sessions ended", md`${r.sessionsEnded}`],
    ["Verification", verification],
    ["Ledger row", md`${r.ledgerId ?? "—"}`],
    ...(r.ending?.kind === "revoked" ? [["Reason", text(r.ending.reason, { max: 500 })] as [string, Md]] : []),
  ];
  const what = r.ending?.kind === "revoked" ? md`was revoked early by jit-access` : md`expired and was revoked by jit-access`;
  return joinMd([
    revertMarker(r),
    md`The grant of ${code(r.role)} to ${code(r.dbUser)} on ${code(r.database)} ${what}.`,
    md`This pull request deletes ${code(r.path, 300)} so the default branch lists only live access. The request id stays used: merging or not, it is never granted again.`,
    md``,
    md`| | |`,
    md`| --- | --- |`,
    ...rows.map(([k, val]) => md`| ${k} | ${val} |`),
    ...(r.activity ? [md``, renderActivity(r.activity)] : []),
  ], "\n");
}

// --- Auto-approval and outcome notifications (issue 13 items 7 and 8) ---

/** The app could not merge an auto-approved request (protection, merge settings): what to change. */
export function autoMergeBlockedComment(a: { requester: string; rule: string; status: number | undefined }): Md {
  return md`⚠️ ${mention(a.requester)} **jit-access**: this request is auto-approved by ${text(a.rule)}, but GitHub refused the app's merge (HTTP ${a.status ?? "?"}). A person with merge rights may merge it; to let the app merge auto-approved requests, allow the GitHub App to merge into the default branch (put it on the branch protection or ruleset bypass list, see docs/policies.md).`;
}

/** An outcome comment addressed to the request's author (a login read from GitHub, never from the file: I19). */
export function requesterLine(body: Md, requester: string | null): Md {
  return requester ? md`${body}

cc ${mention(requester)} (requester)` : body;
}

/** On the request PR when its grant ended: at expiry (the sweep) or early (a merged deletion, `jit revoke`). */
export function endedComment(e: {
  requester: string | null; role: string; dbUser: string; database: string; requestId: string; expired: boolean;
  revokedAt: number | null; sessionsEnded: number; deletionPr?: number; revertPr?: number;
}): Md {
  const when = e.revokedAt !== null ? md` at ${utc(e.revokedAt)}` : md``;
  const how = e.expired ? md`expired and was revoked${when}` : md`was revoked early${when}${e.deletionPr ? md` (pull request #${e.deletionPr} deleted the request file)` : md``}`;
  const revert = e.revertPr ? md` Pull request #${e.revertPr} deletes the request file.` : md``;
  const who = e.requester ? md`${mention(e.requester)}: ` : md``;
  return md`🔒 ${who}**jit-access**: ${code(e.role)} for ${code(e.dbUser)} on ${code(e.database)} (${code(e.requestId)}) ${how}; ${e.sessionsEnded} session(s) of ${code(e.dbUser)} ended.${revert} Need access again? Open a new request with a new file name (request ids are single-use).`;
}
