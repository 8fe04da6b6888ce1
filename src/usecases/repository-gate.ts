// I10 at the edge: is the repository an event or a job names one of the operator's access
// repositories, the very one (same GitHub id) first seen under that name?
import { decide, problem, type Decision, type Problem } from "../core/problem.ts";
import { accessEntry, keyAuthority, notAccessProblem } from "../core/repositories.ts";
import { pinRepositoryId } from "../db/repository-pins.ts";
import type { AppDeps } from "./context.ts";

export type Gate = { ok: true } | { ok: false; problem: Problem };

/**
 * `repository` is "owner/name"; `id` its GitHub id as the event or job names it. `fresh` reads the
 * id from the API: an event's payload only routes, so its id must be GitHub's for that name, and
 * only GitHub's answer is ever pinned (a payload naming the access repository with another
 * repository's id can neither pass nor pin that id first).
 */
export async function gateRepository(deps: Pick<AppDeps, "state" | "repositories">, repository: string, id: number | undefined, fresh?: () => Promise<number>): Promise<Gate> {
  const entry = accessEntry(deps.repositories, repository);
  if (!entry) return { ok: false, problem: notAccessProblem(repository) };
  if (deps.repositories.mode === "all") return { ok: true };
  const actual = fresh ? await fresh() : id;
  if (actual === undefined) return { ok: true };
  if (id !== undefined && id !== actual) return { ok: false, problem: idChanged(repository, id, actual) };
  const pinned = await pinRepositoryId(deps.state, entry.name, actual);
  if (pinned === actual) return { ok: true };
  return { ok: false, problem: idChanged(repository, actual, pinned) };
}

function idChanged(repository: string, id: number, expected: number): Problem {
  return problem("JIT_REPO_ID_CHANGED", `${repository} has id ${id}, but the access repository of that name had id ${expected}: it was deleted and re-created, or transferred; nothing is granted or revoked from it`, {
    hint: "if this is intended, an operator deletes the pin (DELETE FROM repository_pins WHERE name = '<owner/name>')",
  });
}

/** I10: a decision about a database key another access repository owns fails with that code (check and merge alike). */
export function withKeyAuthority<T extends { database: string | null }>(deps: Pick<AppDeps, "repositories">, repository: string, d: Decision<T>): Decision<T> {
  if (d.details.database === null) return d;
  const p = keyAuthority(deps.repositories, repository, d.details.database);
  return p ? decide(d.details, [p, ...d.problems], "") : d;
}
