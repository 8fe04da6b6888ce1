// Process-wide cache of GitHub answers that can never change: what a git object addressed by its
// full 40-hex SHA contains (a commit's tree and parents, a tree's entries, a blob's bytes, a path at
// a commit). A branch name or a short SHA is never a key, so a cached answer is always the answer
// GitHub would give again; a pull request's files and commits are keyed by both full SHAs (head
// and base) that determine them, and only checks read them (pr-context.ts). Bounded (least recently used out first) by
// entries and by bytes; only settled answers are stored (a failed read is read again).
const FULL_SHA = /^[0-9a-f]{40}$/;

/** True for a full 40-hex SHA: the only kind of reference whose answers may be cached. */
export const isFullSha = (s: string): boolean => FULL_SHA.test(s);

export class LruCache<V> {
  readonly #map = new Map<string, { value: V; size: number }>();
  #bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #sizeOf: (v: V) => number;
  hits = 0;
  misses = 0;

  constructor(o: { maxEntries: number; maxBytes: number; sizeOf: (v: V) => number }) {
    this.maxEntries = o.maxEntries;
    this.maxBytes = o.maxBytes;
    this.#sizeOf = o.sizeOf;
  }

  get size(): number { return this.#map.size; }
  get bytes(): number { return this.#bytes; }

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (!e) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    this.#map.delete(key); // re-insert: Map order is the recency order
    this.#map.set(key, e);
    return e.value;
  }

  has(key: string): boolean { return this.#map.has(key); }

  set(key: string, value: V): void {
    const size = this.#sizeOf(value);
    if (size > this.maxBytes) return;
    const old = this.#map.get(key);
    if (old) {
      this.#bytes -= old.size;
      this.#map.delete(key);
    }
    this.#map.set(key, { value, size });
    this.#bytes += size;
    for (const [k, e] of this.#map) {
      if (this.#map.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      this.#map.delete(k);
      this.#bytes -= e.size;
    }
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
    this.hits = 0;
    this.misses = 0;
  }
}

/** A tree entry as git stores it (the path is the caller's to build). */
export interface RawEntry { name: string; type: "blob" | "tree" | "commit"; mode: string; sha: string }

export type Cached =
  | { kind: "tree"; entries: RawEntry[] }
  | { kind: "bytes"; bytes: Uint8Array | undefined }
  | { kind: "sha"; sha: string | null }
  // A pull request's files or commits at (head, base): both full SHAs in the key (pr-context.ts).
  | { kind: "list"; items: readonly unknown[]; bytes: number };

const sizeOf = (v: Cached): number =>
  v.kind === "tree" ? 64 + v.entries.reduce((n, e) => n + 120 + e.name.length * 2, 0) : v.kind === "bytes" ? 64 + (v.bytes?.byteLength ?? 0) : v.kind === "list" ? 64 + v.bytes : 96;

/**
 * The one instance: at most 5 000 answers and 16 MB. Keys name the repository too (owner/repo),
 * although git objects are content-addressed.
 */
export const immutableReads = new LruCache<Cached>({ maxEntries: 5000, maxBytes: 16 * 1024 * 1024, sizeOf });
