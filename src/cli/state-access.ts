// Opens the state database for a CLI command: DATABASE_URL, or the embedded one under <cwd>/.data
// (reused when the app is running, started for the command otherwise). Progress goes to stderr so
// stdout stays machine-readable.
import { migrate } from "../db/migrations.ts";
import { openStateDatabase, type StateDatabase } from "../db/state.ts";
import type { CliIo } from "./io.ts";

export async function openStateForCli(io: CliIo, command: string): Promise<StateDatabase> {
  const quiet = (m: string) => io.err(`jit ${command}: ${m}`);
  const state = await openStateDatabase({ env: io.env, cwd: io.cwd, log: { info: () => {}, warn: quiet, error: quiet } });
  try {
    await migrate(state.pool);
  } catch (e) {
    await state.close();
    throw e;
  }
  return state;
}
