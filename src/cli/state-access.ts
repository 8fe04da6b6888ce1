// Opens the state database for a CLI command: DATABASE_URL, or the embedded one under <cwd>/.data
// (reused when the app is running, started for the command otherwise). Progress goes to stderr so
// stdout stays machine-readable.
import { migrate } from "../db/migrations.ts";
import { openStateDatabase, type StateDatabase } from "../db/state.ts";
import type { CliIo } from "./io.ts";

/** Returns the migrated state database, or exit status 2 after printing JIT_DB_UNREACHABLE. */
export async function openStateForCli(io: CliIo, command: string): Promise<StateDatabase | 2> {
  const quiet = (m: string) => io.err(`jit ${command}: ${m}`);
  try {
    const state = await openStateDatabase({ env: io.env, cwd: io.cwd, log: { info: () => {}, warn: quiet, error: quiet } });
    try {
      await migrate(state.pool);
    } catch (e) {
      await state.close();
      throw e;
    }
    return state;
  } catch (e) {
    io.err(`jit ${command}: JIT_DB_UNREACHABLE: ${(e as Error).message}`);
    return 2;
  }
}
