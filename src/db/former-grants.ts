// I15: memberships on a target cluster granted by an app role the ledger recorded there that is no
// longer today's app role (a credential rotation). On PG16+ today's role cannot revoke such a row
// unless the operator let it act as the former one, so `jit doctor` shows each with fix SQL.
import type pg from "pg";
import { quoteRole } from "../core/sql.ts";
import { query } from "./executor.ts";
import { finding, type Finding } from "./finding.ts";
import type { TargetInfo } from "./targets.ts";

type Client = Pick<pg.PoolClient, "query">;

/** Quoted when it passes the identifier allowlist; null otherwise (the fix is then written as a comment). */
function quoted(name: string | null): string | null {
  try {
    return name === null ? null : quoteRole(name);
  } catch {
    return null;
  }
}

export async function formerAppGrants(client: Client, info: TargetInfo, grantors: { oid: string; role: string }[]): Promise<Finding[]> {
  const former = grantors.filter((g) => g.oid !== info.appRoleOid);
  if (former.length === 0) return [];
  const { rows } = await query<{ role: string; member: string; grantor_oid: string; grantor: string | null }>(client, `
    SELECT r.rolname::text AS role, m.rolname::text AS member, am.grantor::text AS grantor_oid, g.rolname::text AS grantor
      FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
      LEFT JOIN pg_roles g ON g.oid = am.grantor
     WHERE am.grantor = ANY($1::oid[]) ORDER BY 1, 2, 3`, [former.map((g) => g.oid)]);
  return rows.map((r) => {
    const recorded = former.find((g) => g.oid === r.grantor_oid)!.role;
    const [role, member, grantor, app] = [quoted(r.role), quoted(r.member), quoted(r.grantor), quoted(info.appRole)];
    const who = r.grantor ? `"${r.grantor}"` : `"${recorded}" (dropped, OID ${r.grantor_oid})`;
    const fix: string[] = [];
    if (!role || !member) {
      fix.push("-- a name outside the identifier allowlist: revoke this membership by hand after checking it");
    } else if (info.pgMajor < 16) {
      // PG15 keeps one row per (role, member): this REVOKE removes exactly the row the app made.
      fix.push(`REVOKE ${role} FROM ${member};`);
    } else if (grantor) {
      fix.push(`REVOKE ${role} FROM ${member} GRANTED BY ${grantor};`);
      if (app) fix.push(`-- or let the app revoke it at expiry: GRANT ${grantor} TO ${app} WITH INHERIT FALSE, SET TRUE;`);
    } else {
      fix.push("-- the grantor has a name outside the identifier allowlist: revoke this membership by hand");
    }
    return finding("JIT_FORMER_APP_GRANT",
      `"${r.member}" holds "${r.role}" through the former app role ${who}, not today's app role "${info.appRole}"; run as a superuser`, fix, r.role);
  });
}
