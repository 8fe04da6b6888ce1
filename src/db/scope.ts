// Which grantable roles the app role may hold ADMIN on in a target's cluster (every role any policy
// database on the same cluster allowlists) and which it needs (this key's roles that exist).
import { isSqlIdentifier } from "../core/sql.ts";
import { query } from "./executor.ts";
import type { AppRoleScope } from "./inspect-app.ts";
import type { Targets } from "./targets.ts";

export async function appRoleScope(targets: Targets, database: string): Promise<AppRoleScope> {
  const info = await targets.info(database);
  const allowlist = new Set<string>();
  for (const key of targets.keys()) {
    if (key !== database) {
      if (!targets.configured(key)) continue;
      const other = await targets.info(key).catch(() => undefined);
      if (other?.clusterId !== info.clusterId) continue;
    }
    for (const role of Object.keys(targets.policy.databases[key]!.roles)) allowlist.add(role);
  }
  const own = Object.keys(targets.policy.databases[database]!.roles).filter(isSqlIdentifier);
  const client = await targets.connect(database);
  try {
    const { rows } = await query<{ name: string }>(client, "SELECT rolname::text AS name FROM pg_roles WHERE rolname = ANY($1::text[])", [own]);
    return { allowlist: [...allowlist].sort(), required: rows.map((r) => r.name).sort() };
  } finally {
    client.release();
  }
}
