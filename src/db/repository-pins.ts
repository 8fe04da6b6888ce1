// Pins of access repositories to their GitHub ids (migration 013), first come first pinned.
import type { Queryable } from "./state.ts";

/** The id pinned for `name` (lowercase owner/name): `id` when this is the first sighting. */
export async function pinRepositoryId(q: Queryable, name: string, id: number): Promise<number> {
  await q.query("INSERT INTO repository_pins (name, repo_id) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, id]);
  const { rows } = await q.query<{ repo_id: string }>("SELECT repo_id::int8 AS repo_id FROM repository_pins WHERE name = $1", [name]);
  return Number(rows[0]!.repo_id);
}
