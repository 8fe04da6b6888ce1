// `jit report --since DATE --until DATE [--format json|csv|md] [--database KEY]`: evidence for a
// period from the ledger (docs/audit.md): every grant recorded in [since, until) with its key
// fields, and totals. Deterministic for a given ledger: stable order, UTC times.
// Exit 0 reported (also an empty period), 2 usage error or state database unreachable.
import { DATABASE_KEY_PATTERN } from "../core/request-path.ts";
import { buildReport } from "../core/report-model.ts";
import { isoOfMs, parseReportDate } from "../core/report-period.ts";
import { renderCsv, renderMarkdown } from "../core/report-render.ts";
import { reportData } from "../db/report.ts";
import { parseCommand } from "./args.ts";
import type { CliIo } from "./io.ts";
import { openStateForCli } from "./state-access.ts";

const USAGE = `usage: jit report --since DATE --until DATE [--format json|csv|md] [--database KEY]

Every grant the ledger recorded from --since (inclusive) to --until (exclusive), with totals:
requests, granted, refused by code, median and max duration, revoked early, overdue revokes,
break-glass, auto-approved, drift findings. Columns: docs/audit.md; JSON: schemas/report.schema.json.
  DATE               YYYY-MM-DD (midnight UTC) or an RFC 3339 time (2026-11-01T00:00:00Z, +01:00)
  --database KEY     only this database key
Exit status: 0 reported (an empty period too), 2 usage error or state database unreachable.`;

export async function run(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommand(argv, io, {
    command: "report", usage: USAGE, formats: ["json", "csv", "md"],
    options: { since: { type: "string" }, until: { type: "string" }, database: { type: "string" } },
  });
  if (typeof args === "number") return args;
  const { since, until, database } = args.values;
  if (since === undefined || until === undefined) return args.usageError("--since DATE and --until DATE are required");
  const from = parseReportDate(since);
  const to = parseReportDate(until);
  if (from === null) return args.usageError(`--since: not a date or RFC 3339 time: ${JSON.stringify(since.slice(0, 40))}`);
  if (to === null) return args.usageError(`--until: not a date or RFC 3339 time: ${JSON.stringify(until.slice(0, 40))}`);
  if (from > to) return args.usageError("--since is after --until");
  if (database !== undefined && !DATABASE_KEY_PATTERN.test(database)) return args.usageError("--database is not a database key");
  const state = await openStateForCli(io, "report");
  if (state === 2) return 2;
  try {
    const period = { since: isoOfMs(from), until: isoOfMs(to), database: database ?? null };
    const data = await reportData(state.pool, period);
    const report = buildReport({ ...period, ...data });
    if (args.format === "csv") io.out(renderCsv(report).replace(/\r\n$/, ""));
    else if (args.format === "md") io.out(renderMarkdown(report).replace(/\n$/, ""));
    else io.out(JSON.stringify(report, null, 2));
    return 0;
  } finally {
    await state.close();
  }
}
