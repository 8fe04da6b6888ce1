// Child process for docs/security.md case 41: runs one grant and, after the GRANT is verified but before
// the ledger row is marked active, reports "GRANTED" and waits to be killed with SIGKILL — a real
// crash between the two databases, with no cleanup code running.
import { GrantEngine, type GrantInput } from "../../src/db/grantor.ts";
import { createPool } from "../../src/db/state.ts";
import { Targets } from "../../src/db/targets.ts";
import type { Policy } from "../../src/core/types.ts";

const { stateUrl, env, policy, input } = JSON.parse(process.argv[2]!) as { stateUrl: string; env: Record<string, string>; policy: Policy; input: GrantInput };
const state = createPool({ connectionString: stateUrl });
const engine = new GrantEngine(state, new Targets(policy, env), policy, {
  afterGrant: async () => {
    process.stdout.write("GRANTED\n");
    await new Promise(() => {}); // never resolves: the parent kills us here
  },
});
const d = await engine.grant(input);
process.stdout.write(`RESULT ${d.code}\n`);
process.exit(0);
