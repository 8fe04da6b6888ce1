// `jit` entry: dispatches to one module per subcommand. Exit codes: 0 ok, 1 findings, 2 usage/config.
import type { CliIo } from "./io.ts";
import { defaultIo } from "./io.ts";
import { VERSION } from "./version.ts";

type Command = (argv: string[], io: CliIo) => Promise<number>;

// Each subcommand lives in its own module and is loaded on demand, so `jit validate`
// never loads pg or Probot.
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  init: { summary: "scaffold an access repository: [DIR]", load: async () => (await import("./init.ts")).run },
  validate: { summary: "check policies and access requests", load: async () => (await import("./validate.ts")).run },
  owners: { summary: "show the code owners of paths per CODEOWNERS", load: async () => (await import("./owners.ts")).run },
  doctor: { summary: "check the app's database role and the grantable roles", load: async () => (await import("./doctor.ts")).run },
  status: { summary: "list active, scheduled and break-glass grants and their expiry", load: async () => (await import("./status.ts")).run },
  revoke: { summary: "revoke one grant now: <database>/<request-id> --reason TEXT", load: async () => (await import("./revoke.ts")).run },
  expire: { summary: "one expiry sweep: revoke everything past its expiry (backstop)", load: async () => (await import("./expire.ts")).run },
  reconcile: { summary: "revoke app grants without a ledger row; report standing access", load: async () => (await import("./reconcile.ts")).run },
  audit: { summary: "one grant's whole story: <database>/<request-id>", load: async () => (await import("./audit.ts")).run },
  report: { summary: "grants and totals for a period: --since DATE --until DATE", load: async () => (await import("./report.ts")).run },
  rebuild: { summary: "rebuild the ledger's history from GitHub: --repo OWNER/NAME", load: async () => (await import("./rebuild.ts")).run },
  backstop: { summary: "in-database expiry backstop with pg_cron: install|status <database>", load: async () => (await import("./backstop.ts")).run },
  actions: { summary: "run one GitHub Actions job of actions mode: check | grant | sweep", load: async () => (await import("../actions/cli.ts")).run },
  deliveries: { summary: "webhook queue: list dead letters, retry <delivery-id>", load: async () => (await import("./deliveries.ts")).run },
};

function usage(io: CliIo): void {
  io.err("usage: jit <command> [options]   (jit --version prints the version)\n\ncommands:");
  for (const [name, c] of Object.entries(COMMANDS)) io.err(`  ${name.padEnd(10)} ${c.summary}`);
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    usage(io);
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    io.out(VERSION);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`jit: unknown command "${name}"`);
    usage(io);
    return 2;
  }
  return (await command.load())(rest, io);
}

// import.meta.main, not a comparison of import.meta.url with argv[1]: the URL percent-encodes a
// space (or any other such character) in the checkout's path, and the process then did nothing.
if (import.meta.main) {
  (await import("../util/env-file.ts")).loadDotEnv();
  process.exitCode = await main(process.argv.slice(2));
}
