// Comments of the scheduled-start lifecycle (pure renderers; every value goes through inert.ts, I19).
// Both instants are shown in UTC and relative to `now`.
import type { JitCode } from "./codes.ts";
import { code, jitCode, joinMd, md, mention, type Md } from "./inert.ts";
import type { Problem } from "./problem.ts";
import { problemLine, relative, utc } from "./report.ts";

export interface ScheduledText {
  role: string;
  dbUser: string;
  database: string;
  requestId: string;
  startsAt: number;
  durationMs: number;
  approvers: readonly string[];
}

const at = (ms: number, now: number) => md`${utc(ms)} (${relative(ms, now)})`;

export function scheduledComment(s: ScheduledText, now: number): Md {
  return md`🗓️ **jit-access**: scheduled ${code(s.role)} for ${code(s.dbUser)} on ${code(s.database)} from ${at(s.startsAt, now)} until ${at(s.startsAt + s.durationMs, now)}. Approved by ${joinMd(s.approvers.map(mention), ", ")}.

Nothing is granted before the start. At the start the app re-verifies the policy at the default branch, the approvals against it, the role and the login, then grants. To cancel, merge a pull request that deletes ${code(`access-requests/${s.database}/${s.requestId}.yaml`, 200)} before then.`;
}

export function scheduleActivatedComment(s: ScheduledText & { expiresAt: number }, now: number): Md {
  return md`✅ **jit-access**: granted ${code(s.role)} to ${code(s.dbUser)} on ${code(s.database)} at its scheduled start ${at(s.startsAt, now)}, until ${at(s.expiresAt, now)}.`;
}

export function scheduleRefusedComment(s: Pick<ScheduledText, "requestId" | "database" | "startsAt">, c: JitCode, problems: readonly Problem[], now: number): Md {
  return md`❌ **jit-access**: nothing was granted at the scheduled start ${at(s.startsAt, now)} of ${code(s.requestId)} on ${code(s.database)} (**${jitCode(c)}**). The request id is used up; open a new request if access is still needed.

${joinMd(problems.map((p) => problemLine(p)), "\n")}`;
}

export function scheduleCancelledComment(s: Pick<ScheduledText, "requestId" | "database" | "startsAt">, now: number): Md {
  return md`🗑️ **jit-access**: cancelled the scheduled grant ${code(s.requestId)} on ${code(s.database)} (it would have started ${at(s.startsAt, now)}); nothing was granted (**${jitCode("JIT_SCHEDULE_CANCELLED")}**).`;
}
