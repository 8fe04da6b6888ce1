// Stable error codes. Checks, comments, the CLI, logs and tests all show these; never rename one.
// Add new codes here, grouped by the module that emits them, each with a one-line meaning.
export const CODES = {
  JIT_OK: "everything checked out",
  // Reading files (src/core/yaml-strict.ts, request.ts, policy.ts)
  JIT_FILE_TOO_LARGE: "the file is larger than the size cap and was not parsed",
  JIT_UTF8_INVALID: "the file is not valid UTF-8",
  JIT_TEXT_FORBIDDEN_CHAR: "the file, a decoded value or key (YAML escapes included) or the path holds a control, bidirectional, zero-width or other invisible character",
  JIT_YAML_SYNTAX: "the file is not well-formed YAML",
  JIT_YAML_ALIAS: "YAML anchors, aliases and merge keys are not allowed",
  JIT_YAML_TAG: "explicit YAML tags are not allowed",
  JIT_YAML_DIRECTIVE: "YAML directives (%YAML, %TAG) are not allowed",
  JIT_YAML_MULTIPLE_DOCUMENTS: "a file holds exactly one YAML document",
  JIT_YAML_DUPLICATE_KEY: "a key appears twice in one mapping",
  JIT_YAML_FORBIDDEN_KEY: "keys such as __proto__ and constructor are not allowed",
  JIT_YAML_TOO_DEEP: "the document nests deeper than allowed",
  JIT_SCHEMA: "the content does not match the JSON Schema",
  JIT_IDENTIFIER: "a PostgreSQL identifier is not of the form ^[a-z_][a-z0-9_]*$ within 63 bytes, or is reserved",
  JIT_DURATION_INVALID: "the duration is not of the form <1-9999><m|h|d>",
  JIT_DURATION_TOO_LONG: "the duration is over the policy maximum or the absolute upper bound",
  JIT_PATH_INVALID: "the file is not at access-requests/<database>/<request-id>.yaml",
  // Policy evaluation (src/core/evaluate-policy.ts)
  JIT_POLICY_INVALID: "the policies do not validate",
  JIT_POLICY_CONFLICT: "two policy files define the same database, role or identity",
  JIT_DATABASE_UNKNOWN: "no policy defines this database",
  JIT_ROLE_NOT_ALLOWED: "the role is not grantable on this database",
  JIT_REQUESTER_NOT_ALLOWED: "the requester is not allowed to request this role",
  JIT_TICKET_REQUIRED: "the policy requires a ticket",
  JIT_IDENTITY_UNKNOWN: "the requester has no database login in the identities map",
  JIT_USER_NOT_ALLOWED: "the requested database user is not the requester's own login",
  // Pull request shape and approvals (src/core/pull-request.ts, approval.ts, codeowners.ts)
  JIT_PR_NO_REQUEST: "the pull request adds no request file",
  JIT_PR_MULTIPLE_REQUESTS: "a pull request carries exactly one request file",
  JIT_PR_TOUCHES_OTHER_FILES: "a request pull request changes nothing but its one request file",
  JIT_PR_FILE_MODE: "the request file is not a regular file (mode 100644)",
  JIT_PR_DRAFT: "draft pull requests are never granted",
  JIT_PR_NOT_MERGED: "the pull request was closed without merging",
  JIT_PR_BASE_NOT_DEFAULT: "a request pull request must target the default branch, whose policies and CODEOWNERS decide",
  JIT_PR_BLOB_MISMATCH: "the merged request differs from the approved one",
  JIT_EXTENSION_NOT_ALLOWED: "an active request may only change its duration",
  JIT_REQUEST_ID_USED: "request ids are single-use; this one was already granted",
  JIT_CODEOWNERS_ERROR: "CODEOWNERS has a line GitHub would not interpret",
  JIT_NO_ELIGIBLE_OWNER: "no code owner of the file satisfies the policy's approvers",
  JIT_APPROVALS_MISSING: "fewer eligible approvals than the policy requires",
  JIT_APPROVER_IS_AUTHOR: "the pull request author cannot approve",
  JIT_APPROVER_IS_BENEFICIARY: "the person who gets the access cannot approve",
  JIT_APPROVER_IS_CONTRIBUTOR: "someone who authored, committed or co-authored a commit cannot approve",
  JIT_APPROVER_IS_BOT: "bots cannot approve",
  JIT_APPROVER_NOT_OWNER: "the reviewer is not an eligible code owner of the file",
  JIT_APPROVER_NO_WRITE_ACCESS: "the reviewer lacks write access to the repository",
  JIT_APPROVAL_STALE: "the approval was given on an older commit",
  JIT_APPROVER_IS_PUSHER: "someone who pushed to the pull request's head or changed its base cannot approve",
  JIT_APPROVAL_AFTER_MERGE: "the approval was submitted after the pull request was merged",
  JIT_APPROVAL_TOO_OLD: "the approval is older than the policy's max_approval_age",
  JIT_APPROVAL_DISMISSED: "the review was dismissed",
  JIT_COMMIT_UNATTRIBUTED: "a commit's author or committer is not linked to a GitHub account: link the email to an account or re-push with a linked one",
  JIT_LIST_INCOMPLETE: "GitHub returned fewer items than it reports (commits, files, reviews or a compare): the decision is refused rather than made on part of the list",
  JIT_CHANGES_REQUESTED: "an eligible owner requested changes",
  // Database (src/db/*)
  JIT_CONFIG_MISSING_ENV: "an environment variable the configuration names is unset",
  JIT_DB_UNREACHABLE: "the database could not be reached",
  JIT_DB_ROLE_TOO_POWERFUL: "the app's database role has more power than invariant I5 allows",
  JIT_DB_ROLE_INSUFFICIENT: "the app's database role lacks ADMIN on a grantable role or pg_signal_backend",
  JIT_GRANT_NOT_FOUND: "no ledger row exists for this database and request id",
  JIT_ROLE_NOT_PURE: "the grantable role is not a pure privilege bundle (invariant I4)",
  JIT_ROLE_MISSING: "the grantable role does not exist",
  JIT_USER_MISSING: "the database user does not exist",
  JIT_USER_NOT_ELIGIBLE: "the database user is not a plain LOGIN role (superuser, group, CREATEROLE or the app)",
  JIT_ALREADY_HAS_ACCESS: "the user already has the role by some path; pre-existing access is never touched",
  JIT_SQL_REFUSED: "the executor refused a statement (multi-statement or not allowlisted)",
  JIT_GRANT_FAILED: "the GRANT did not take effect",
  JIT_WINDOW_PASSED: "the grant window, which opens at the PR's merge time (merged_at), had passed when the merge was handled: nothing granted, the request id is used up (I17)",
  JIT_MERGE_TIME_UNKNOWN: "the API reported no usable merged_at for a merged PR, so the grant window cannot be anchored: nothing granted",
  JIT_REVOKE_FAILED: "the REVOKE or session termination could not be verified",
  JIT_DRIFT_ORPHAN_GRANT: "an app-granted membership has no active ledger row",
  JIT_STANDING_ACCESS: "a member of a grantable role that the app did not grant",
  JIT_WINDOW_RESIDUE: "after a revoke, the grantable role still carries something a member changed during the window (default privileges, owned objects, a role setting) that the app could not undo",
  JIT_ROLE_SHARED_ACROSS_KEYS: "the same role on the same cluster is grantable under two database keys with different rules",
  JIT_TARGET_CHANGED: "the target login's OID at merge differs from the one the check recorded: a dropped and recreated login is a different person",
  JIT_REVOKE_TARGET_UNAVAILABLE: "no configured connection (the recorded variable or any other) reaches the cluster the grant was made on, so the revoke cannot run",
  JIT_REVOKE_FORMER_GRANTOR: "a membership was granted by a former app role that today's app role cannot act for (PG16+); the revoke is not verified until it is removed",
  JIT_FORMER_APP_GRANT: "a membership granted by a former app role of this cluster (recorded in the ledger) is still in place",
  // App and scheduling
  JIT_WEBHOOK_SIGNATURE: "the webhook signature is missing or wrong",
  JIT_PRODUCTION_CONFIG: "production configuration is unsafe (secret, app id or key)",
  JIT_UNVERIFIED_PUSH: "a request file reached the default branch without a verified merged pull request",
  JIT_MERGE_REFUSED: "the merged pull request failed re-verification",
  JIT_SWEEP_STALE: "no sweep succeeded for too long",
  JIT_REVOKE_OVERDUE: "a grant is past its expiry and not yet revoked",
  JIT_LEADER_LOST: "the sweeper lost its leader lock",
  JIT_CONFIG_INVALID: "a configuration variable has a value of the wrong form",
  JIT_POLICY_UNAVAILABLE: "no policy that defines the grant's database could be read (default branch, merge commit or local copy)",
  JIT_WEBHOOK_TOO_LARGE: "the webhook body is over GitHub's 25 MB cap and was not read",
  JIT_DELIVERY_DEAD: "a stored webhook delivery failed every attempt and waits for `jit deliveries retry`",
  JIT_MERGE_RECOVERED: "the merge reconciler found a merged request pull request whose delivery was lost and handled it",
  JIT_REVERT_PR_FAILED: "the revert pull request could not be opened yet; it is retried from the outbox",
  // CLI (src/cli/init.ts)
  JIT_INIT_FILE_EXISTS: "jit init would overwrite an existing file (or write through a link); nothing was written",
  // Repository authority and what the app writes (src/core/repositories.ts, src/github/revert-pr.ts)
  JIT_REPO_NOT_ACCESS: "the repository is not one of the access repositories the operator named (JIT_REPOSITORIES); it never grants or revokes",
  JIT_REPO_KEY_NOT_BOUND: "the database key belongs to another access repository (JIT_REPOSITORIES)",
  JIT_REPO_ID_CHANGED: "the named repository now has another id than when the app first saw it (deleted and re-created, or transferred)",
  JIT_REVERT_BRANCH_TAKEN: "a branch or pull request the app did not write uses its revert naming, or its revert PR was changed by someone else; never merged",
  JIT_REVOKE_NOT_AUTHORIZED: "the deletion of an active request was not made or approved by someone its role's revoke_by allows; the grant ends at expiry",
  // Audit, report and rebuild (src/cli/audit.ts, report.ts, rebuild.ts; docs/audit.md, docs/operations.md)
  JIT_REBUILD_NOT_EMPTY: "jit rebuild refuses a state database that already holds ledger rows for the repository; nothing was written",
  // Actions mode and the in-database backstop (src/actions/, src/db/backstop*.ts)
  JIT_ACTIONS_EVENT: "a `jit actions` job was started by an event it does not handle (the workflow's triggers are wrong)",
  JIT_BACKSTOP_REVOKED: "the in-database backstop (pg_cron) revoked an expired grant before the app did; the app's next sweep ends the sessions, verifies and closes the ledger row",
  JIT_BACKSTOP_MIRROR_FAILED: "the grants could not be mirrored into a target's in-database backstop; retried on the next grant or sweep",
  // Errors (src/core/errors.ts: every error class carries a code)
  JIT_USAGE: "a command was called with arguments it does not accept (exit status 2)",
  // Request lifecycle (src/usecases/target-checks.ts, src/jobs/pending-ttl.ts)
  JIT_ALREADY_GRANTED: "the database user already holds this role through an active grant of the app (another request id), and this request cannot extend it (it would not end later, or would exceed max_duration counted from that grant's start): nothing is granted and this request id stays unused",
  JIT_PENDING_TTL_EXPIRED: "the request pull request stayed open longer than its role's pending_ttl and was closed by the app",
  // Scheduled start (src/core/schedule.ts, src/scheduler/activation.ts)
  JIT_START_INVALID: "start is not an RFC 3339 time with whole seconds and an explicit offset",
  JIT_START_NOT_ALLOWED: "the role's policy sets no max_lead_time, so its access cannot be scheduled",
  JIT_START_PAST: "start is not after the check (or, at merge, after the merge time)",
  JIT_START_TOO_FAR: "start is further ahead than the role's max_lead_time",
  JIT_REQUEST_SCHEDULED: "the request id is a scheduled grant; only deleting its file (cancel) is allowed before it starts",
  JIT_APPROVAL_NO_LONGER_ELIGIBLE: "at a scheduled start, the approvals recorded at merge no longer satisfy the role's current policy",
  JIT_SCHEDULE_CANCELLED: "a scheduled grant was cancelled by merging the deletion of its file before it started; nothing was granted",
  // Break-glass (src/core/break-glass.ts, src/usecases/break-glass.ts)
  JIT_BREAK_GLASS_NOT_ALLOWED: "break_glass was asked for but the role's policy has no break_glass, the requester is not among its requesters, or it is combined with start",
  JIT_BREAK_GLASS_DURATION: "a break-glass duration is over the role's break_glass max_duration",
  JIT_BREAK_GLASS_ACTIVE: "the requester already holds an active break-glass grant; one at a time per person",
  JIT_BREAK_GLASS_UNATTRIBUTED: "a commit of the break-glass pull request is not authored and committed by the requester, or someone else pushed to it",
  JIT_BREAK_GLASS_GRANTED: "access was granted by break-glass, without prior approval (alert)",
  JIT_BREAK_GLASS_EXPIRED: "a break-glass grant got no eligible approval and merge before its retro-approval deadline: revoked, pull request closed (incident)",
} as const;

export type JitCode = keyof typeof CODES;

/**
 * What a refusal at merge is (src/core/refusal-class.ts). Codes not listed are incidents: the merge
 * is refused, commented on the PR AND alerted (a jit-alert issue), e.g. a merge without valid
 * approval, forged or unattributed commits, a policy edit, a recreated login (JIT_TARGET_CHANGED), a
 * login that became a superuser, group or NOLOGIN role after approval (JIT_USER_NOT_ELIGIBLE).
 * - transient: the target could not be reached or is not configured yet; retried, not final, no alert.
 * - benign: the world changed between approval and merge, or the request asks for what the user
 *   already has; the PR is told why, nobody is alerted, and the check shows the same before merge.
 */
export const REFUSAL_CLASS: Readonly<Partial<Record<JitCode, "transient" | "benign">>> = {
  JIT_DB_UNREACHABLE: "transient",
  JIT_CONFIG_MISSING_ENV: "transient",
  JIT_WINDOW_PASSED: "benign", // I17: a late replay; the id is used up, nothing granted
  JIT_USER_MISSING: "benign", // the login was dropped after approval
  JIT_ROLE_MISSING: "benign",
  JIT_ROLE_NOT_PURE: "benign", // the role became impure (I4/I14): a DBA fixes the role; the request was fine
  JIT_ALREADY_HAS_ACCESS: "benign", // I7: pre-existing access is never touched
  JIT_ALREADY_GRANTED: "benign", // an overlapping request for a membership held through the app
  JIT_DB_ROLE_INSUFFICIENT: "benign", // the app role lacks ADMIN: an operator fixes it (too much power is an incident)
};
