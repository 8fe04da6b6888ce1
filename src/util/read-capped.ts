// Capped reads of a local file that never follow a symbolic link: a huge file costs at most cap + 1
// bytes, and the parser then reports it as too large.
import { constants } from "node:fs";
import { open } from "node:fs/promises";

/** Reads at most `cap + 1` bytes: enough for the parser to see the file is over the cap. */
export async function readCapped(abs: string, cap: number): Promise<Uint8Array> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = new Uint8Array(cap + 1);
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await fh.close();
  }
}
