// Who a CLI command acts as, recorded in the ledger and events.
import { userInfo } from "node:os";
import type { CliIo } from "./io.ts";

/** The local user running the command. */
export function localUser(io: CliIo): string {
  return io.env.USER || io.env.LOGNAME || userInfo().username;
}

/** `cli:<command>:` then the Actions run when there is one (the backstop workflow), else the local user. */
export function commandActor(io: CliIo, command: string): string {
  return `cli:${command}:${io.env.GITHUB_RUN_ID ? `actions-run-${io.env.GITHUB_RUN_ID}` : localUser(io)}`;
}
