// Break-glass messages (pure; values through inert.ts, I19): loud on grant, an incident when the
// retro-approval deadline passes.
import { code, md, mention, plain, type Md } from "./inert.ts";
import type { AlertText } from "./messages.ts";
import { relative, utc } from "./report.ts";

export interface BreakGlassText {
  pr: number;
  requester: string;
  role: string;
  dbUser: string;
  database: string;
  requestId: string;
  expiresAt: number;
  deadline: number;
}

const at = (ms: number, now: number) => md`${utc(ms)} (${relative(ms, now)})`;

export function breakGlassGrantedComment(b: BreakGlassText, now: number): Md {
  return md`🚨 **jit-access**: BREAK-GLASS — granted ${code(b.role)} to ${code(b.dbUser)} on ${code(b.database)} without approval, until ${at(b.expiresAt, now)}. Requested by ${mention(b.requester)}.

An eligible approval and a merge of this pull request are needed by ${at(b.deadline, now)}; otherwise the app revokes the access then, closes this pull request and files an incident issue. New commits change nothing about this grant.`;
}

export function breakGlassGrantedAlert(b: BreakGlassText): AlertText {
  return {
    code: "JIT_BREAK_GLASS_GRANTED", key: `break-glass:${b.database}/${b.requestId}`,
    title: plain`Break-glass: ${b.role} on ${b.database} granted to ${b.dbUser} without approval (PR #${b.pr})`,
    body: md`Pull request #${b.pr} by ${mention(b.requester)} used break-glass: ${code(b.role)} was granted to ${code(b.dbUser)} on ${code(b.database)} at once, until ${utc(b.expiresAt)}. Retro-approval deadline: ${utc(b.deadline)}.`,
  };
}

export function breakGlassExpiredComment(b: Pick<BreakGlassText, "requestId" | "database" | "deadline">, revoked: string): Md {
  return md`🔒 **jit-access**: the break-glass grant ${code(b.requestId)} on ${code(b.database)} got no eligible approval and merge by its deadline ${utc(b.deadline)}: ${revoked}. This pull request is closed and an incident issue was filed.`;
}

export function breakGlassExpiredAlert(b: Pick<BreakGlassText, "pr" | "requester" | "requestId" | "database" | "deadline">): AlertText {
  return {
    code: "JIT_BREAK_GLASS_EXPIRED", key: `break-glass-expired:${b.database}/${b.requestId}`,
    title: plain`Incident: break-glass ${b.database}/${b.requestId} was never approved (PR #${b.pr})`,
    body: md`The break-glass grant of pull request #${b.pr} by ${mention(b.requester)} got no eligible approval and merge before ${utc(b.deadline)}. The access was revoked and the pull request closed. Review why break-glass was used and what was done with it.`,
  };
}
