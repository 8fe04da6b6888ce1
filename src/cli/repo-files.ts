// Disk side of `jit validate`: lists policy and request files of a checkout. Symbolic links are
// never followed (the app only honours regular files, mode 100644), and reads are capped so a
// huge file costs at most cap + 1 bytes: the parser then reports it as too large.
import { lstat, readdir, realpath } from "node:fs/promises";
export { readCapped } from "../util/read-capped.ts";
import { dirname, join, relative, resolve, sep } from "node:path";

export type EntryKind = "file" | "symlink" | "other";

export interface RepoEntry {
  /** Repository-relative, forward slashes. */
  path: string;
  abs: string;
  kind: EntryKind;
}

function kindOf(d: { isFile(): boolean; isSymbolicLink(): boolean }): EntryKind {
  return d.isSymbolicLink() ? "symlink" : d.isFile() ? "file" : "other";
}

export function repoPath(repo: string, abs: string): string {
  return relative(repo, abs).split(sep).join("/");
}

/** Every non-directory entry below `absDir`, without following symlinks. */
export async function walk(repo: string, absDir: string): Promise<RepoEntry[]> {
  const out: RepoEntry[] = [];
  const pending = [absDir];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    let dirents;
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of dirents) {
      const abs = join(dir, d.name);
      if (d.isDirectory()) pending.push(abs);
      else out.push({ path: repoPath(repo, abs), abs, kind: kindOf(d) });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** One explicitly named path: a file entry, or everything below a directory. Null if missing. */
export async function entriesFor(repo: string, abs: string): Promise<RepoEntry[] | null> {
  let st;
  try {
    st = await lstat(abs);
  } catch {
    return null;
  }
  const path = repoPath(repo, abs);
  if (st.isSymbolicLink()) return [{ path, abs, kind: "symlink" }];
  // A symlinked parent directory is a link too: the app would never see this file there.
  const real = repoPath(await realpath(repo), await realpath(abs));
  if (real !== path) return [{ path, abs, kind: "symlink" }];
  if (st.isDirectory()) return walk(repo, abs);
  return [{ path, abs, kind: st.isFile() ? "file" : "other" }];
}


/**
 * The repository root for a command run in `start` or below it: the nearest folder, walking up,
 * that holds `policies/` or `.git`. Null when no ancestor does.
 */
export async function findRepoRoot(start: string): Promise<string | null> {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    for (const marker of ["policies", ".git"]) {
      try {
        await lstat(join(dir, marker));
        return dir;
      } catch {
        // not here
      }
    }
    if (dirname(dir) === dir) return null;
  }
}
