import { describe, expect, it } from "vitest";
import { isFullSha, LruCache } from "../../src/github/immutable-cache.ts";

describe("the immutable-read cache's bounds (src/github/immutable-cache.ts)", () => {
  const cache = (maxEntries: number, maxBytes = 1000) => new LruCache<string>({ maxEntries, maxBytes, sizeOf: (v) => v.length });

  it("drops the least recently used entry past maxEntries", () => {
    const c = cache(2);
    c.set("a", "1");
    c.set("b", "2");
    expect(c.get("a")).toBe("1"); // a is now the most recent
    c.set("c", "3");
    expect([c.has("a"), c.has("b"), c.has("c")]).toEqual([true, false, true]);
    expect(c.size).toBe(2);
  });

  it("drops old entries past maxBytes, and never stores one larger than the bound", () => {
    const c = cache(100, 10);
    c.set("a", "xxxx");
    c.set("b", "yyyy");
    c.set("c", "zzzz"); // 12 bytes: a goes
    expect([c.has("a"), c.has("b"), c.has("c")]).toEqual([false, true, true]);
    expect(c.bytes).toBe(8);
    c.set("huge", "x".repeat(11));
    expect(c.has("huge")).toBe(false);
    expect(c.bytes).toBe(8);
  });

  it("replacing a key keeps the byte count exact", () => {
    const c = cache(10, 100);
    c.set("a", "xxxx");
    c.set("a", "xx");
    expect(c.bytes).toBe(2);
    expect(c.size).toBe(1);
  });

  it("only a full 40-hex SHA is an immutable key: never a branch, tag or short SHA", () => {
    expect(isFullSha("a".repeat(40))).toBe(true);
    expect(isFullSha("0123456789abcdef0123456789abcdef01234567")).toBe(true);
    for (const ref of ["main", "refs/heads/main", "a".repeat(39), "a".repeat(41), "A".repeat(40), `${"a".repeat(40)}:policies`, "v1.0"]) expect(isFullSha(ref)).toBe(false);
  });
});
