// placeholder, replaced below
import type { CliIo } from "./io.ts";
export async function run(_argv: string[], io: CliIo): Promise<number> {
  io.err("not yet");
  return 2;
}
