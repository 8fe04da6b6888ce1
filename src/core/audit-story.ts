// One grant's story as `jit audit` shows it (docs/audit.md, schemas/audit.schema.json): a pure
// function from what the ledger recorded to a JSON document and its text rendering. Every part says
// where it came from; a fact the ledger does not hold is null and listed under `notRecorded`.

export interface StoryApproval {
  login: string;
  reviewId: number;
  commitId: string;
  submittedAt: string | null;
}

export interface StoryInput {
  row: {
    id: number; repository: string; path: string; requestId: string; database: string; prNumber: number | null;
    headSha: string | null; mergeSha: string | null; approvers: string[]; clusterId: string; role: string; dbUser: string;
    durationMs: number; status: string; createdAt: Date; grantedAt: Date | null; expiresAt: Date | null; revokedAt: Date | null;
    revokeReason: string | null; revokedBy: string | null; failureCode: string | null;
    sqlExecuted: { text: string; params: string[]; at?: string; error?: string }[]; sessionsEnded: number;
    verification: Record<string, unknown>; actor: string; connectionEnv: string | null; grantorRole: string | null;
    grantorOid: string | null; roleOid: string | null; memberOid: string | null;
  };
  facts: {
    blobSha: string | null; reason: string | null; ticket: string | null; requester: string | null; mergedAt: Date | null;
    approvals: StoryApproval[]; decision: { ok: boolean; code: string; message: string } | null;
    extensions: { prNumber: number; mergeSha: string | null; mergedAt: string | null; blobSha: string | null; approvals: StoryApproval[] }[];
    rebuiltAt: Date | null; unproven: string[];
  };
  events: { id: number; at: Date; kind: string; code: string | null; actor: string | null; details: Record<string, unknown> }[];
  alerts: { code: string; key: string; at: Date }[];
  /** The grantee's activity in the window (issue 14 item 4), when a summary exists. */
  activity?: unknown;
  /** A scheduled request's schedule (recorded, start, activation outcome); null: not scheduled. */
  schedule?: { recordedAt: Date; startsAt: Date; status: string; closedAt: Date | null; code: string | null; reason: string | null; actor: string } | null;
  /** A break-glass request's facts (granted, deadline, confirmed or expired); null: not break-glass. */
  breakGlass?: { grantedAt: Date; deadline: Date; status: string; closedAt: Date | null; prNumber: number; requester: string } | null;
  /** `--github`: what GitHub shows today, beside the ledger (null: not asked; error: not reachable). */
  github?: { check: Record<string, unknown> | null; error: string | null } | null;
}

/** Dates from the ledger; strings (event details) were written as ISO 8601 UTC already. */
const iso = (d: { toISOString(): string } | string | null | undefined): string | null => (d === null || d === undefined ? null : typeof d === "string" ? d : d.toISOString());

export const AUDIT_SCHEMA_ID = "jit-audit/1";

/** The JSON story (schemas/audit.schema.json). */
export function buildStory(s: StoryInput) {
  const { row, facts } = s;
  const notRecorded: string[] = [];
  const need = (name: string, v: unknown) => {
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) notRecorded.push(name);
  };
  need("request.blobSha", facts.blobSha);
  need("request.reason", facts.reason);
  need("requester", facts.requester);
  need("pullRequest.mergedAt", facts.mergedAt);
  need("approvals", facts.approvals);
  need("decision", facts.decision);
  need("beneficiary.oid", row.memberOid);
  if (s.activity === undefined) notRecorded.push("activity");
  const { revoke: revokeVerification, ...grantVerification } = row.verification as { revoke?: unknown } & Record<string, unknown>;
  const extendedEvents = s.events.filter((e) => e.kind === "extended");
  const revert = [...s.events].reverse().find((e) => e.kind === "revert_pr_opened" || e.kind === "revert_pr_merged" || e.kind === "revert_pr_skipped");
  return {
    schema: AUDIT_SCHEMA_ID,
    ledgerId: row.id,
    repository: row.repository,
    status: row.status,
    request: { database: row.database, requestId: row.requestId, path: row.path, blobSha: facts.blobSha, reason: facts.reason, ticket: facts.ticket },
    requester: facts.requester,
    beneficiary: { login: row.dbUser, oid: row.memberOid },
    pullRequest: { number: row.prNumber, headSha: row.headSha, mergeSha: row.mergeSha, mergedAt: iso(facts.mergedAt) },
    approvals: facts.approvals.length
      ? facts.approvals
      : row.approvers.map((login) => ({ login, reviewId: null, commitId: null, submittedAt: null })),
    decision: facts.decision,
    grant: {
      role: row.role, roleOid: row.roleOid, clusterId: row.clusterId, durationMs: row.durationMs, actor: row.actor,
      createdAt: iso(row.createdAt), grantedAt: iso(row.grantedAt), expiresAt: iso(row.expiresAt), failureCode: row.failureCode,
      grantor: { role: row.grantorRole, oid: row.grantorOid, connectionEnv: row.connectionEnv },
      verification: grantVerification,
    },
    sql: row.sqlExecuted.map((q) => ({ text: q.text, params: q.params, at: q.at ?? null, ...(q.error ? { error: q.error } : {}) })),
    extensions: extendedEvents.map((e) => {
      const pr = Number(e.details.prNumber);
      const f = facts.extensions.find((x) => x.prNumber === pr);
      return {
        prNumber: Number.isSafeInteger(pr) ? pr : null, at: iso(e.at), from: iso(e.details.from as string), to: iso(e.details.to as string),
        durationMs: typeof e.details.durationMs === "number" ? e.details.durationMs : null,
        approvers: Array.isArray(e.details.approvers) ? (e.details.approvers as string[]) : [],
        mergeSha: f?.mergeSha ?? null, blobSha: f?.blobSha ?? null, approvals: f?.approvals ?? [],
      };
    }),
    sessionsEnded: row.sessionsEnded,
    revoke: row.revokedAt || row.revokeReason
      ? { at: iso(row.revokedAt), reason: row.revokeReason, actor: row.revokedBy, early: row.expiresAt !== null && row.revokedAt !== null && row.revokedAt < row.expiresAt, verification: revokeVerification ?? null }
      : null,
    revertPr: revert ? { number: (revert.details.pr as number | null) ?? null, state: (revert.details.state as string | undefined) ?? revert.kind, branch: (revert.details.branch as string | undefined) ?? null, at: iso(revert.at) } : null,
    alerts: s.alerts.map((a) => ({ code: a.code, key: a.key, at: iso(a.at) })),
    events: s.events.map((e) => ({ at: iso(e.at), kind: e.kind, code: e.code, actor: e.actor })),
    activity: s.activity ?? null,
    schedule: s.schedule ? { recordedAt: iso(s.schedule.recordedAt), startsAt: iso(s.schedule.startsAt), status: s.schedule.status, closedAt: iso(s.schedule.closedAt),
      code: s.schedule.code, reason: s.schedule.reason, actor: s.schedule.actor } : null,
    breakGlass: s.breakGlass ? { grantedAt: iso(s.breakGlass.grantedAt), deadline: iso(s.breakGlass.deadline), status: s.breakGlass.status,
      closedAt: iso(s.breakGlass.closedAt), prNumber: s.breakGlass.prNumber, requester: s.breakGlass.requester } : null,
    github: s.github ? { ...(s.github.check ?? {}), error: s.github.error } : null,
    rebuilt: facts.rebuiltAt ? { at: iso(facts.rebuiltAt), unproven: facts.unproven } : null,
    sources: {
      ledger: ["request", "requester", "beneficiary", "pullRequest", "approvals", "decision", "grant", "sql", "extensions", "revoke", "revertPr", "alerts", "events"],
      github: s.github?.check ? Object.keys(s.github.check).filter((k) => s.github!.check![k] !== null) : ([] as string[]),
      notRecorded,
    },
  };
}

export type AuditStory = ReturnType<typeof buildStory>;

const line = (label: string, value: unknown) => `  ${label.padEnd(14)} ${value === null || value === undefined || value === "" ? "(not recorded)" : String(value)}`;

/** Plain text for a terminal; JSON stays the contract. Text from GitHub is printed as data, one line each. */
export function renderStoryText(s: AuditStory): string[] {
  const oneLine = (v: string | null) => (v === null ? null : v.replace(/[\r\n]+/g, " "));
  const out: string[] = [];
  out.push(`${s.request.database}/${s.request.requestId} in ${s.repository}: ${s.status}${s.rebuilt ? " (rebuilt from GitHub)" : ""}`);
  out.push("request");
  out.push(line("file", `${s.request.path}${s.request.blobSha ? ` (blob ${s.request.blobSha})` : ""}`));
  out.push(line("reason", oneLine(s.request.reason)));
  out.push(line("ticket", s.request.ticket ?? "(none)"));
  out.push(line("requester", s.requester));
  out.push(line("beneficiary", `${s.beneficiary.login}${s.beneficiary.oid ? ` (oid ${s.beneficiary.oid})` : ""}`));
  out.push("pull request");
  out.push(line("number", s.pullRequest.number === null ? null : `#${s.pullRequest.number}`));
  out.push(line("head", s.pullRequest.headSha));
  out.push(line("merge", s.pullRequest.mergeSha ? `${s.pullRequest.mergeSha} at ${s.pullRequest.mergedAt ?? "(time not recorded)"}` : null));
  out.push(line("decision", s.decision ? `${s.decision.code}: ${oneLine(s.decision.message)}` : null));
  out.push("approvals");
  if (!s.approvals.length) out.push("  (none recorded)");
  for (const a of s.approvals) out.push(`  @${a.login}  review ${a.reviewId ?? "(id not recorded)"} on ${a.commitId ?? "?"} at ${a.submittedAt ?? "?"}`);
  out.push("grant");
  out.push(line("role", `${s.grant.role}${s.grant.roleOid ? ` (oid ${s.grant.roleOid})` : ""} on cluster ${s.grant.clusterId}`));
  out.push(line("granted", s.grant.grantedAt));
  out.push(line("expires", s.grant.expiresAt));
  out.push(line("grantor", s.grant.grantor.role ? `${s.grant.grantor.role} (oid ${s.grant.grantor.oid}) via ${s.grant.grantor.connectionEnv}` : null));
  if (s.grant.failureCode) out.push(line("failed", s.grant.failureCode));
  out.push(line("verification", Object.keys(s.grant.verification).length ? JSON.stringify(s.grant.verification) : null));
  out.push("sql");
  if (!s.sql.length) out.push("  (none run)");
  for (const q of s.sql) out.push(`  ${q.at ?? "?"}  ${q.text}${q.params.length ? `  -- ${q.params.map((p, i) => `$${i + 1} = ${p}`).join(", ")}` : ""}${q.error ? `  (error: ${oneLine(q.error)})` : ""}`);
  for (const e of s.extensions) {
    out.push(`extension by #${e.prNumber ?? "?"} at ${e.at}: ${e.from} -> ${e.to}; approved by ${e.approvals.length ? e.approvals.map((a) => `@${a.login} (review ${a.reviewId})`).join(", ") : e.approvers.map((a) => `@${a}`).join(", ") || "(not recorded)"}`);
  }
  out.push("revoke");
  if (!s.revoke) out.push("  (not revoked)");
  else {
    out.push(line("at", `${s.revoke.at}${s.revoke.early ? " (early)" : ""}`));
    out.push(line("reason", oneLine(s.revoke.reason)));
    out.push(line("by", s.revoke.actor));
    out.push(line("sessions", `${s.sessionsEnded} ended`));
    out.push(line("verification", s.revoke.verification ? JSON.stringify(s.revoke.verification) : null));
  }
  out.push(line("revert PR", s.revertPr ? `${s.revertPr.number === null ? "" : `#${s.revertPr.number} `}${s.revertPr.state} at ${s.revertPr.at}` : null));
  out.push("alerts");
  if (!s.alerts.length) out.push("  (none)");
  for (const a of s.alerts) out.push(`  ${a.at}  ${a.code}  ${a.key}`);
  out.push(line("activity", s.activity === null ? null : JSON.stringify(s.activity)));
  if (s.schedule) {
    out.push("schedule");
    out.push(line("recorded", `${s.schedule.recordedAt} by ${s.schedule.actor}`));
    out.push(line("start", s.schedule.startsAt));
    out.push(line("activation", `${s.schedule.status}${s.schedule.code ? ` ${s.schedule.code}` : ""}${s.schedule.closedAt ? ` at ${s.schedule.closedAt}` : ""}${s.schedule.reason ? `: ${oneLine(s.schedule.reason)}` : ""}`));
  }
  if (s.breakGlass) {
    out.push("break-glass");
    out.push(line("granted", `${s.breakGlass.grantedAt} on open #${s.breakGlass.prNumber} for @${s.breakGlass.requester}`));
    out.push(line("deadline", s.breakGlass.deadline));
    out.push(line("outcome", s.breakGlass.status === "open" ? "open: awaiting approval and merge" : `${s.breakGlass.status}${s.breakGlass.closedAt ? ` at ${s.breakGlass.closedAt}` : ""}`));
  }
  if (s.github) out.push(`github (today)   ${s.github.error ? `not reachable: ${oneLine(s.github.error)}` : JSON.stringify({ ...s.github, error: undefined })}`);
  if (s.rebuilt) out.push(`rebuilt from GitHub at ${s.rebuilt.at}; not provable: ${s.rebuilt.unproven.join(", ") || "nothing"}`);
  out.push(`sources: ledger${s.sources.github.length ? `, GitHub (${s.sources.github.join(", ")})` : ""}; not recorded: ${s.sources.notRecorded.join(", ") || "nothing"}`);
  return out;
}
