// The merge-time target checks, run read-only for the check run (and before the merge writes a
// ledger row): the same preflight the grant runs (app role I5, role and closure I4/I14, login,
// existing access I7), in a READ ONLY transaction that is rolled back, plus overlapping app grants.
import type pg from "pg";
import { problem, type Problem } from "../core/problem.ts";
import type { AppRoleScope } from "./inspect-app.ts";
import { roleOid } from "./inspect-role.ts";
import { getByKey, type LedgerKey } from "./ledger.ts";
import { activeHolders, type HeldGrant } from "./overlaps.ts";
import { preflight } from "./preflight.ts";
import type { Targets } from "./targets.ts";

export interface TargetInspection {
  pgMajor: number;
  /** The login's OID now, or null when there is no such login. */
  memberOid: string | null;
  /** Preflight findings and overlaps, most important first; empty when the grant would go ahead. */
  problems: Problem[];
  /** Active grants of the app that already give this login this role (another request id). */
  held: HeldGrant[];
}

type Client = Pick<pg.PoolClient, "query">;

async function readOnly<T>(client: Client, f: () => Promise<T>): Promise<T> {
  await client.query("BEGIN TRANSACTION READ ONLY");
  try {
    return await f();
  } finally {
    await client.query("ROLLBACK");
  }
}

const until = (h: HeldGrant) => (h.expiresAt ? `until ${h.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z")}` : "(being granted now)");

/** Throws TargetError (JIT_DB_UNREACHABLE, JIT_CONFIG_MISSING_ENV, …) when the target cannot be read. */
export async function inspectTarget(state: pg.Pool, targets: Targets, scopeFor: (key: string) => Promise<AppRoleScope>,
  key: LedgerKey, role: string, dbUser: string): Promise<TargetInspection> {
  const info = await targets.info(key.database);
  const shared = await targets.sharedRole(key.database, role); // I16
  const scope = await scopeFor(key.database);
  const client = await targets.connect(key.database);
  let findings: Problem[];
  let memberOid: string | null;
  let broken = false;
  try {
    ({ findings, memberOid } = await readOnly(client, async () => ({
      findings: (await preflight(client, { role, dbUser, info, scope })).problems,
      memberOid: (await roleOid(client, dbUser)) ?? null,
    })));
  } catch (e) {
    broken = true;
    throw e;
  } finally {
    client.release(broken);
  }
  const held = await activeHolders(state, { clusterId: info.clusterId, role, dbUser, except: key });
  // This very request already granted (a check re-run after the merge): its own membership is no obstacle.
  const own = await getByKey(state, key);
  if (own && (own.status === "active" || own.status === "intent") && own.role === role && own.dbUser === dbUser) {
    findings = findings.filter((f) => f.code !== "JIT_ALREADY_HAS_ACCESS");
  }
  const overlap = held.map((h) => problem("JIT_ALREADY_GRANTED",
    `"${dbUser}" already holds "${role}" through request ${h.database}/${h.requestId}${h.repository === key.repository ? "" : ` of ${h.repository}`} ${until(h)}; nothing is granted and request id ${key.requestId} stays unused`,
    { hint: `a request for a membership held through the app extends that grant only when it ends later and, counted from where that grant started, stays within the role's max_duration; otherwise close this one (or edit the duration in access-requests/${h.database}/${h.requestId}.yaml)` }));
  // The ledger says why the login has the role; the catalog's "already has access" is the same fact.
  const rest = held.length ? findings.filter((f) => f.code !== "JIT_ALREADY_HAS_ACCESS") : findings;
  // Plain problems only: a Finding's fix SQL belongs to `jit doctor`, not to a PR.
  const plain = [...shared, ...rest].map((f) => problem(f.code, f.message, f.hint ? { hint: f.hint } : {}));
  return { pgMajor: info.pgMajor, memberOid, problems: [...overlap, ...plain], held };
}
