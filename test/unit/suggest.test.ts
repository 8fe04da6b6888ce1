// The pure "did you mean" helper and where its suggestions surface: unknown fields, roles, databases.
import { describe, expect, it } from "vitest";
import { evaluateRequestAgainstPolicy } from "../../src/core/evaluate-policy.ts";
import { closestName, didYouMean, editDistance } from "../../src/core/suggest.ts";
import { request, testPolicy, validRequest } from "./support/core-fixtures.ts";

describe("editDistance", () => {
  it("counts insertions, deletions and substitutions", () => {
    expect(editDistance("", "")).toBe(0);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("abc", "")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("orders_readonyl", "orders_readonly")).toBe(2);
    expect(editDistance("rolee", "role")).toBe(1);
  });
});

describe("closestName", () => {
  const roles = ["orders_readonly", "orders_admin", "orders_writer"];
  it("finds the closest candidate within two edits, ignoring case", () => {
    expect(closestName("orders_readonyl", roles)).toBe("orders_readonly");
    expect(closestName("ORDERS_ADMIN", roles)).toBe("orders_admin");
    expect(closestName("orders_writr", roles)).toBe("orders_writer");
  });
  it("suggests nothing beyond two edits, for an exact match, or for no candidates", () => {
    expect(closestName("orders_rw", roles)).toBeNull();
    expect(closestName("superuser", roles)).toBeNull();
    expect(closestName("orders_admin", ["orders_admin"])).toBeNull();
    expect(closestName("x", [])).toBeNull();
  });
  it("is independent of candidate order and bounded on long input", () => {
    expect(closestName("ab", ["ax", "xb"])).toBe("ax");
    expect(closestName("ab", ["xb", "ax"])).toBe("ax");
    expect(closestName("a".repeat(10_000), ["a".repeat(9_999)])).toBeNull();
  });
  it("didYouMean phrases it for a hint", () => {
    expect(didYouMean("rolee", ["role", "reason"])).toBe("did you mean `role`? ");
    expect(didYouMean("zzz", ["role"])).toBe("");
  });
});

describe("suggestions in problems", () => {
  it("an unknown role suggests the grantable role it resembles", () => {
    const d = evaluateRequestAgainstPolicy(validRequest("role: orders_readonyl\nduration: 1h\nreason: x\nticket: INC-1\n"), testPolicy());
    expect(d.problems[0]).toMatchObject({ code: "JIT_ROLE_NOT_ALLOWED", line: 1, column: 7 });
    expect(d.problems[0]?.hint).toMatch(/^did you mean `orders_readonly`\? grantable roles on orders-prod: /);
  });
  it("an unknown database suggests the policy's database it resembles", () => {
    const r = validRequest("role: orders_readonly\nduration: 1h\nreason: x\nticket: INC-1\n", "access-requests/orders-prd/a-1.yaml");
    const d = evaluateRequestAgainstPolicy(r, testPolicy());
    expect(d.problems[0]?.code).toBe("JIT_DATABASE_UNKNOWN");
    expect(d.problems[0]?.hint).toMatch(/^did you mean `orders-prod`\? /);
  });
  it("an unknown field suggests the schema field it resembles, and still says it is rejected", () => {
    const d = request("role: orders_readonly\nduration: 1h\nreason: x\ntciket: INC-1\n");
    expect(d.problems[0]).toMatchObject({ code: "JIT_SCHEMA", line: 4, column: 1 });
    expect(d.problems[0]?.hint).toMatch(/^did you mean `ticket`\? remove it; .*Unknown fields are rejected/);
  });
  it("a hostile name far from everything gets no suggestion", () => {
    const d = evaluateRequestAgainstPolicy(validRequest("role: drop_everything\nduration: 1h\nreason: x\nticket: INC-1\n"), testPolicy());
    expect(d.problems[0]?.code).toBe("JIT_ROLE_NOT_ALLOWED");
    expect(d.problems[0]?.hint).not.toMatch(/did you mean/);
  });
});
