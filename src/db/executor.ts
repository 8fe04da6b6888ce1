// The only way SQL reaches a target database. Every statement goes out in the extended query
// protocol, where the server accepts exactly one statement; the text is also refused here if it
// could hold more than one (node-postgres would run a multi-statement string in simple mode).
import { JitError } from "../core/errors.ts";
import type pg from "pg";
import type { Statement } from "../core/sql.ts";

export class SqlRefusedError extends JitError {
  constructor(message: string) {
    super("JIT_SQL_REFUSED", message);
  }
}

type Client = Pick<pg.PoolClient | pg.Client, "query">;

/** node-postgres supports queryMode at runtime; @types/pg does not declare it. */
interface ExtendedQuery extends pg.QueryConfig {
  queryMode: "extended";
}

const scalar = (p: unknown) => typeof p === "string" || typeof p === "number" || typeof p === "boolean" || p === null;

function check(text: unknown, params: unknown, allowArrays: boolean): asserts text is string {
  if (typeof text !== "string" || text.trim() === "") throw new SqlRefusedError("empty or non-string SQL");
  // None of our statements needs a semicolon or a comment; refusing them rules out stacking.
  if (text.includes(";") || text.includes("--") || text.includes("/*")) throw new SqlRefusedError("multi-statement or commented SQL is refused");
  const ok = (p: unknown) => scalar(p) || (allowArrays && Array.isArray(p) && p.every((x) => typeof x === "string"));
  if (!Array.isArray(params) || !params.every(ok)) throw new SqlRefusedError("parameters must be scalars (or, for catalog reads, lists of strings)");
}

function send<R extends pg.QueryResultRow>(client: Client, text: string, params: readonly unknown[]): Promise<pg.QueryResult<R>> {
  const config: ExtendedQuery = { text, values: [...params], queryMode: "extended" };
  return client.query<R>(config);
}

/** Runs one catalog read with bind parameters (scalars or string lists), extended protocol only. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: Client, text: string, params: readonly unknown[] = [],
): Promise<pg.QueryResult<R>> {
  check(text, params, true);
  return send<R>(client, text, params);
}

/** Runs a planned statement exactly as the plan (and the check run) shows it; scalar parameters only. */
export async function execute<R extends pg.QueryResultRow = pg.QueryResultRow>(client: Client, statement: Statement): Promise<pg.QueryResult<R>> {
  check(statement.text, statement.params, false);
  return send<R>(client, statement.text, statement.params);
}
