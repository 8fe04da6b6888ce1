// The merge-time target checks as the check run lists them (item "green means grantable"): one line
// per check, passed or not, from the codes the read-only preflight found. Pure.
import type { JitCode } from "./codes.ts";

export interface TargetCheck {
  ok: boolean;
  /** Plain text; names in it come from the policy and the request and are rendered inert. */
  text: string;
}

const GROUPS: readonly { codes: readonly JitCode[]; text: (i: TargetCheckInput) => string }[] = [
  { codes: ["JIT_DB_ROLE_TOO_POWERFUL", "JIT_DB_ROLE_INSUFFICIENT"], text: () => "app role healthy (I5: no more power than needed, ADMIN on the role)" },
  { codes: ["JIT_USER_MISSING", "JIT_USER_NOT_ELIGIBLE", "JIT_TARGET_CHANGED"],
    text: (i) => `login ${i.dbUser} exists and is a plain login${i.memberOid ? ` (OID ${i.memberOid})` : ""}` },
  { codes: ["JIT_ROLE_MISSING", "JIT_ROLE_NOT_PURE", "JIT_ROLE_SHARED_ACROSS_KEYS"], text: (i) => `role ${i.role} exists and is pure over its closure (I4, I14)` },
  { codes: ["JIT_ALREADY_HAS_ACCESS", "JIT_ALREADY_GRANTED"], text: (i) => `${i.dbUser} does not already have ${i.role} (I7)` },
];

export interface TargetCheckInput {
  database: string;
  role: string;
  dbUser: string;
  /** Null when the target could not be read at all. */
  pgMajor: number | null;
  memberOid: string | null;
  codes: readonly JitCode[];
}

export function targetChecks(i: TargetCheckInput): TargetCheck[] {
  if (i.pgMajor === null) return [{ ok: false, text: `cluster of ${i.database} reachable` }];
  return [
    { ok: true, text: `cluster of ${i.database} reachable (PostgreSQL ${i.pgMajor})` },
    ...GROUPS.map((g) => ({ ok: !g.codes.some((c) => i.codes.includes(c)), text: g.text(i) })),
  ];
}
