// I10: JIT_REPOSITORIES, the access repositories and the database keys each owns; production
// refuses to start without it.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { accessEntry, keyAuthority, keyOwner, parseRepositories } from "../../src/core/repositories.ts";

const parse = (v: string | undefined) => parseRepositories(v);
const messages = (v: string) => parse(v).problems.map((p) => `${p.code}: ${p.message}`);

describe("I10: JIT_REPOSITORIES", () => {
  it("I10: one repository owns every key its policies define; owner/name compare case-insensitively", () => {
    const c = parse(" Acme/Access ").details;
    expect(c).toEqual({ mode: "listed", entries: [{ name: "acme/access", keys: null }] });
    expect(accessEntry(c, "ACME/access")).toEqual({ name: "acme/access", keys: null });
    expect(keyAuthority(c, "acme/ACCESS", "orders-prod")).toBeNull();
    expect(keyOwner(c, "anything")).toBe("acme/access");
  });

  it("I10: any other repository, a lookalike name included, is not an access repository", () => {
    const c = parse("acme/access").details;
    for (const other of ["acme/shadow", "acme/access-old", "evil/access", "acme/accesS2", "acme"]) {
      expect(accessEntry(c, other)).toBeUndefined();
      expect(keyAuthority(c, other, "orders-prod")?.code).toBe("JIT_REPO_NOT_ACCESS");
    }
  });

  it("I10: with several repositories each names its keys, and a key belongs to exactly one", () => {
    const c = parse("acme/access:orders-prod+billing, acme/pay:payments").details;
    expect(keyAuthority(c, "acme/access", "billing")).toBeNull();
    expect(keyAuthority(c, "acme/pay", "payments")).toBeNull();
    const p = keyAuthority(c, "acme/pay", "orders-prod")!;
    expect(p.code).toBe("JIT_REPO_KEY_NOT_BOUND");
    expect(p.message).toContain("acme/access");
    expect(keyAuthority(c, "acme/access", "unlisted")?.code).toBe("JIT_REPO_KEY_NOT_BOUND");
    expect(keyOwner(c, "payments")).toBe("acme/pay");
    expect(keyOwner(c, "unlisted")).toBeNull();
  });

  it("I10: ambiguous or malformed lists are refused (JIT_CONFIG_INVALID)", () => {
    expect(messages("acme/a:orders-prod, acme/b:orders-prod")).toEqual([
      "JIT_CONFIG_INVALID: JIT_REPOSITORIES: database key orders-prod is given to both acme/a and acme/b: each key belongs to exactly one repository",
    ]);
    expect(messages("acme/a, acme/b:billing")).toEqual([
      "JIT_CONFIG_INVALID: JIT_REPOSITORIES: with several repositories each names its database keys (acme/a:key1+key2)",
    ]);
    expect(messages("acme/a, ACME/A")[0]).toContain("listed twice");
    expect(messages("acme")[0]).toContain("not an owner/name repository");
    expect(messages("acme/a/b")[0]).toContain("not an owner/name repository");
    expect(messages("acme/a:Orders_Prod")[0]).toContain("is not a database key");
    expect(messages(" , ")[0]).toContain("names no repository");
  });

  it("I10: unset means every repository in development; production refuses to start (JIT_PRODUCTION_CONFIG)", () => {
    expect(parse(undefined).details.mode).toBe("all");
    expect(accessEntry(parse("").details, "any/repo")).toEqual({ name: "any/repo", keys: null });
    const prod = { NODE_ENV: "production", APP_ID: "1", PRIVATE_KEY: "k", WEBHOOK_SECRET: "a-real-secret", DATABASE_URL: "postgres://127.0.0.1:1/state" };
    expect(() => loadConfig(prod)).toThrow(ConfigError);
    try {
      loadConfig(prod);
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.code)).toEqual(["JIT_PRODUCTION_CONFIG"]);
      expect((e as ConfigError).message).toContain("JIT_REPOSITORIES");
    }
    expect(loadConfig({ ...prod, JIT_REPOSITORIES: "acme/access" }).repositories.entries).toEqual([{ name: "acme/access", keys: null }]);
    expect(() => loadConfig({ JIT_REPOSITORIES: "acme/a, acme/b" })).toThrow(/JIT_CONFIG_INVALID/);
  });
});
