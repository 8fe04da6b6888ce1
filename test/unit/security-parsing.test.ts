// docs/security.md §4, cases 1-12 (parsing and validation), parser side. The SQL-builder and
// live-server halves of cases 6, 10 and 11 are in the DB tests. "Nothing granted" at this layer
// means: no AccessRequest comes out (details null), so nothing downstream has anything to grant.
import { describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { evaluatePolicy } from "../../src/core/evaluate-policy.ts";
import { parsePolicies } from "../../src/core/policy.ts";
import { parseRequest } from "../../src/core/request.ts";
import type { AccessRequest } from "../../src/core/types.ts";
import { parseStrictYaml, STRICT_YAML_OPTIONS } from "../../src/core/yaml-strict.ts";
import { codes, GOOD, LONG_ROLE, request, testPolicy, utf8, validRequest } from "./support/core-fixtures.ts";

const policy = testPolicy();
const teams = new Set(["@acme/engineering"]);

function rejected(yaml: string, path?: string) {
  const d = request(yaml, path);
  expect(d.ok).toBe(false);
  expect(d.details).toBeNull();
  return d;
}

describe("parsing and validation (docs/security.md cases 1-12)", () => {
  it("case 1: billion laughs is rejected as JIT_YAML_ALIAS without expanding anything", () => {
    const lol = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
      "role: *i",
    ].join("\n");
    const d = rejected(lol);
    expect(d.code).toBe("JIT_YAML_ALIAS");
    expect(new Set(codes(d))).toEqual(new Set(["JIT_YAML_ALIAS"]));
    expect(d.problems[0]).toMatchObject({ line: 1, column: 4 });
  });

  it("case 1: a single anchor and alias is JIT_YAML_ALIAS, pointing at both", () => {
    const d = rejected("role: &r orders_readonly\nduration: 2h\nreason: *r\n");
    expect(codes(d)).toEqual(["JIT_YAML_ALIAS", "JIT_YAML_ALIAS"]);
    expect(d.problems.map((p) => [p.line, p.column])).toEqual([[1, 7], [3, 9]]);
  });

  it("case 1: a merge key is JIT_YAML_ALIAS, also quoted and also inside a nested mapping", () => {
    expect(codes(rejected("<<: {role: orders_readonly}\nduration: 2h\nreason: x\n"))).toEqual(["JIT_YAML_ALIAS"]);
    expect(codes(rejected('"<<": {role: orders_readonly}\nduration: 2h\nreason: x\n'))).toEqual(["JIT_YAML_ALIAS"]);
    const p = parsePolicies([{ path: "policies/x.yaml", bytes: utf8("identities:\n  <<: {alice: postgres}\n") }]);
    expect(p.ok).toBe(false);
    expect(p.problems[0]).toMatchObject({ code: "JIT_YAML_ALIAS", line: 2, column: 3 });
  });

  it("case 2: a %YAML 1.1 directive is rejected with JIT_YAML_DIRECTIVE", () => {
    const d = rejected("%YAML 1.1\n---\nrole: orders_readonly\nduration: 2h\nreason: no\n");
    expect(codes(d)).toEqual(["JIT_YAML_DIRECTIVE"]);
    expect(d.problems[0]).toMatchObject({ line: 1, column: 1 });
    expect(codes(rejected("%TAG !e! tag:example.com,2000:\n---\nrole: orders_readonly\n"))).toEqual(["JIT_YAML_DIRECTIVE"]);
  });

  it("case 2: with the production options `no`, `010` and `1:30` stay strings, even under %YAML 1.1", () => {
    const src = "%YAML 1.1\n---\na: no\nb: 010\nc: 1:30\n";
    // What yaml does by default: the file changes meaning. This is what the options prevent.
    expect(parse(src)).toEqual({ a: false, b: 8, c: 90 });
    const doc = parseDocument(src, STRICT_YAML_OPTIONS);
    expect(doc.errors).toEqual([]);
    expect(doc.toJS()).toEqual({ a: "no", b: "010", c: "1:30" });
    // And through our parser (no directive): the same three stay strings.
    const r = parseStrictYaml(utf8("a: no\nb: 010\nc: 1:30\nd: 0x1F\ne: 1e3\nf: True\ng: 12\nh: true\n"));
    expect(r.ok && r.value).toEqual({ a: "no", b: "010", c: "1:30", d: "0x1F", e: "1e3", f: "True", g: 12, h: true });
  });

  it("case 3: a duplicate key is rejected with JIT_YAML_DUPLICATE_KEY on the second occurrence", () => {
    const d = rejected("role: orders_readonly\nduration: 2h\nrole: orders_admin\nreason: x\n");
    expect(codes(d)).toEqual(["JIT_YAML_DUPLICATE_KEY"]);
    expect(d.problems[0]).toMatchObject({ line: 3, column: 1 });
  });

  it('case 3: "role" and \'role\' duplicate role', () => {
    const d = rejected('role: orders_readonly\n"role": orders_admin\n\'role\': x\nduration: 2h\nreason: x\n');
    expect(codes(d)).toEqual(["JIT_YAML_DUPLICATE_KEY", "JIT_YAML_DUPLICATE_KEY"]);
    expect(d.problems.map((p) => p.line)).toEqual([2, 3]);
  });

  it("case 3: `!!str role` duplicates role (and the tag itself is refused too)", () => {
    const d = rejected("role: orders_readonly\n!!str role: orders_admin\nduration: 2h\nreason: x\n");
    expect(codes(d)).toEqual(["JIT_YAML_TAG", "JIT_YAML_DUPLICATE_KEY"]);
    expect(d.problems.map((p) => p.line)).toEqual([2, 2]);
  });

  it("case 3: duplicate keys nested in a policy are rejected", () => {
    const src = "databases:\n  orders-prod:\n    connection_env: A_URL\n    connection_env: B_URL\n    roles: {}\n";
    const p = parsePolicies([{ path: "policies/x.yaml", bytes: utf8(src) }]);
    expect(p.problems[0]).toMatchObject({ code: "JIT_YAML_DUPLICATE_KEY", line: 4, column: 5, path: "policies/x.yaml" });
  });

  it("case 4: __proto__ and constructor.prototype keys are rejected anywhere; Object.prototype stays clean", () => {
    const variants = [
      "__proto__: {polluted: yes}\nrole: orders_readonly\n",
      '"__proto__": {polluted: yes}\n',
      "role: orders_readonly\nreason: {__proto__: {polluted: yes}}\n",
      "constructor: {prototype: {polluted: yes}}\n",
      "reason:\n  x:\n    prototype: {polluted: yes}\n",
    ];
    for (const v of variants) {
      const d = rejected(v);
      expect(codes(d)).toContain("JIT_YAML_FORBIDDEN_KEY");
    }
    const p = parsePolicies([{ path: "policies/x.yaml", bytes: utf8("identities:\n  __proto__:\n    polluted: yes\n") }]);
    expect(p.problems[0]).toMatchObject({ code: "JIT_YAML_FORBIDDEN_KEY", line: 2, column: 3 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("case 4: names of Object.prototype members never resolve to inherited values", () => {
    const base = validRequest(GOOD);
    for (const role of ["constructor", "tostring", "valueof", "hasownproperty"]) {
      const d = evaluatePolicy({ request: { ...base, role }, policy, requester: "alice", requesterTeams: teams });
      expect(codes(d)).toEqual(["JIT_ROLE_NOT_ALLOWED"]);
    }
    const db = evaluatePolicy({ request: { ...base, database: "constructor" }, policy, requester: "alice", requesterTeams: teams });
    expect(codes(db)).toContain("JIT_DATABASE_UNKNOWN");
    const who = evaluatePolicy({ request: base, policy, requester: "constructor", requesterTeams: teams });
    expect(codes(who)).toContain("JIT_IDENTITY_UNKNOWN");
    expect(who.details).toBeNull();
  });

  it("case 5: a second document is rejected with JIT_YAML_MULTIPLE_DOCUMENTS", () => {
    const d = rejected(`${GOOD}---\nrole: orders_admin\n`);
    expect(codes(d)).toEqual(["JIT_YAML_MULTIPLE_DOCUMENTS"]);
    expect(d.problems[0]).toMatchObject({ line: 5, column: 1 });
    expect(codes(rejected(`${GOOD}...\nrole: orders_admin\n`))).toEqual(["JIT_YAML_MULTIPLE_DOCUMENTS"]);
  });

  it("case 5: explicit tags (!!binary, !!int \"8\", !custom, !!str) are rejected with JIT_YAML_TAG", () => {
    for (const [line, col] of [
      ['reason: !!binary aGVsbG8=', 9],
      ['duration: !!int "8"', 11],
      ["reason: !custom x", 9],
      ["reason: !!str x", 9],
      ["reason: !<tag:yaml.org,2002:str> x", 9],
    ] as const) {
      const d = rejected(`role: orders_readonly\n${line}\n`);
      expect(codes(d)).toEqual(["JIT_YAML_TAG"]);
      expect(d.problems[0]).toMatchObject({ line: 2, column: col });
    }
  });

  it("case 6: arrays, mappings, numbers and booleans where strings belong are JIT_SCHEMA at their line", () => {
    const cases: [string, number][] = [
      ["role: [orders_readonly, orders_admin]\nduration: 2h\nreason: x\n", 1],
      ["role:\n  - orders_readonly\nduration: 2h\nreason: x\n", 2],
      ["role: orders_readonly\nduration: 2h\nreason: {a: b}\n", 3],
      ["role: orders_readonly\nduration: 8\nreason: x\n", 2],
      ["role: orders_readonly\nduration: 2h\nreason: true\n", 3],
      ["role: orders_readonly\nduration: 2h\nreason: x\nticket: 1234\n", 4],
      ["role: orders_readonly\nduration: 2h\nreason: x\nuser: [alice, bob]\n", 4],
      ["role: orders_readonly\nduration: 2h\nreason:\n", 3],
    ];
    for (const [src, line] of cases) {
      const d = rejected(src);
      expect(codes(d)).toEqual(["JIT_SCHEMA"]);
      expect(d.problems[0]?.line).toBe(line);
    }
    // The whole file being a list is a schema error too.
    expect(codes(rejected("- role: orders_readonly\n"))).toEqual(["JIT_SCHEMA"]);
  });

  it("case 7: malformed durations are JIT_DURATION_INVALID at the duration line", () => {
    for (const dur of ['"8"', "-2h", "0h", "1.5h", '" 2h"', '"2h "', "2H", "02h", "2hours", "2 h", "1h30m", "99999h", "1e3h", "2w", "P2H", "''"]) {
      const d = rejected(`role: orders_readonly\nduration: ${dur}\nreason: x\nticket: INC-1\n`);
      expect(codes(d), dur).toEqual(["JIT_DURATION_INVALID"]);
      expect(d.problems[0]).toMatchObject({ line: 2, column: 11 });
    }
  });

  it("case 7: durations over the absolute bound are JIT_DURATION_TOO_LONG", () => {
    for (const dur of ["31d", "9999d", "9999h", "721h"]) {
      expect(codes(rejected(`role: orders_readonly\nduration: ${dur}\nreason: x\n`)), dur).toEqual(["JIT_DURATION_TOO_LONG"]);
    }
    expect(validRequest("role: orders_readonly\nduration: 30d\nreason: x\n").durationMs).toBe(30 * 86_400_000);
  });

  it("case 7: a duration over the policy maximum is JIT_DURATION_TOO_LONG at its line; 2h is exactly 7 200 000 ms", () => {
    const r = validRequest(GOOD);
    expect(r.durationMs).toBe(7_200_000);
    const over = validRequest("role: orders_readonly\nreason: x\nduration: 9h\nticket: INC-1\n");
    const d = evaluatePolicy({ request: over, policy, requester: "alice", requesterTeams: teams });
    expect(codes(d)).toEqual(["JIT_DURATION_TOO_LONG"]);
    expect(d.problems[0]).toMatchObject({ line: 3, column: 11 });
    expect(d.details).toBeNull();
    const atMax = validRequest("role: orders_readonly\nreason: x\nduration: 480m\nticket: INC-1\n");
    expect(evaluatePolicy({ request: atMax, policy, requester: "alice", requesterTeams: teams }).ok).toBe(true);
  });

  it("case 8: a 1 MiB file is rejected as JIT_FILE_TOO_LARGE before parsing", () => {
    const big = utf8(`role: orders_readonly\nreason: "${"x".repeat(1024 * 1024)}"\n`);
    const d = parseRequest("access-requests/orders-prod/big.yaml", big);
    expect(codes(d)).toEqual(["JIT_FILE_TOO_LARGE"]);
    const p = parsePolicies([{ path: "policies/big.yaml", bytes: big }]);
    expect(codes(p)).toEqual(["JIT_FILE_TOO_LARGE"]);
  });

  it("case 8: 20 000 nested brackets are rejected and the process stays healthy", () => {
    const deep = utf8("[".repeat(20_000) + "]".repeat(20_000));
    // As a request it is over the size cap; as a policy (256 KiB cap) the depth check stops it.
    expect(codes(parseRequest("access-requests/orders-prod/deep.yaml", deep))).toEqual(["JIT_FILE_TOO_LARGE"]);
    const p = parsePolicies([{ path: "policies/deep.yaml", bytes: deep }]);
    expect(codes(p)).toEqual(["JIT_YAML_TOO_DEEP"]);
    expect(p.problems[0]).toMatchObject({ line: 1, column: 17 });
    for (const src of ["[".repeat(20_000), "{a: ".repeat(20_000), "- ".repeat(20_000) + "x\n", `reason:\n${Array.from({ length: 200 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")}\n`]) {
      const r = parseStrictYaml(utf8(src), { maxBytes: 1024 * 1024 });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.problems.map((x) => x.code)).toEqual(["JIT_YAML_TOO_DEEP"]);
    }
    // Healthy: the next file parses normally.
    expect(validRequest(GOOD).role).toBe("orders_readonly");
  });

  it("case 9: unknown fields are JIT_SCHEMA at the field's line and never stripped", () => {
    for (const extra of ["admin: true", "with_admin_option: true", "database: postgres://u:p@db/orders", "Role: orders_admin"]) {
      const d = rejected(`${GOOD}${extra}\n`);
      expect(codes(d)).toEqual(["JIT_SCHEMA"]);
      expect(d.problems[0]).toMatchObject({ line: 5, column: 1 });
      expect(d.problems[0]?.message).toContain(JSON.stringify(extra.split(":")[0]));
    }
  });

  it("case 10: identifiers other than exact lowercase ASCII names within 63 bytes are JIT_IDENTIFIER", () => {
    const bad = [
      "Orders_readonly",
      "ORDERS_READONLY",
      "\u043Erders_readonly", // Cyrillic о
      '"orders_readonly "',
      '"orders_readonly\\n"',
      '"orders_readonly\\t"',
      '" orders_readonly"',
      `${LONG_ROLE}z`,
      "current_user",
      "CURRENT_USER",
      "session_user",
      "public",
      '"x; DROP ROLE y"',
      '"orders_readonly; DROP ROLE orders_admin"',
      '"\\"orders_readonly\\""',
      "1orders",
      "orders-readonly",
      "pg_read_all_data",
      "pg_signal_backend",
    ];
    for (const role of bad) {
      const d = rejected(`role: ${role}\nduration: 2h\nreason: x\n`);
      expect(codes(d), role).toEqual(["JIT_IDENTIFIER"]);
      expect(d.problems[0]).toMatchObject({ line: 1, column: 7 });
    }
    // A block scalar keeps its trailing newline: still rejected.
    expect(codes(rejected("role: |\n  orders_readonly\nduration: 2h\nreason: x\n"))).toEqual(["JIT_IDENTIFIER"]);
    // The same rules for `user`.
    expect(codes(rejected(`${GOOD}user: current_user\n`))).toEqual(["JIT_IDENTIFIER"]);
    expect(codes(rejected(`${GOOD}user: "alice "\n`))).toEqual(["JIT_IDENTIFIER"]);
  });

  it("case 10: the 63-byte role is accepted while its 64-byte extension is not", () => {
    expect(Buffer.byteLength(LONG_ROLE)).toBe(63);
    const ok = validRequest(`role: ${LONG_ROLE}\nduration: 30m\nreason: x\n`);
    expect(evaluatePolicy({ request: ok, policy, requester: "alice", requesterTeams: teams }).ok).toBe(true);
    expect(codes(rejected(`role: ${LONG_ROLE}y\nduration: 30m\nreason: x\n`))).toEqual(["JIT_IDENTIFIER"]);
  });

  it("case 11: an unknown database key is JIT_DATABASE_UNKNOWN; nothing is evaluated", () => {
    const r = validRequest(GOOD, "access-requests/orders-staging/alice-1.yaml");
    const d = evaluatePolicy({ request: r, policy, requester: "alice", requesterTeams: teams });
    expect(d.code).toBe("JIT_DATABASE_UNKNOWN");
    expect(d.details).toBeNull();
  });

  it("case 11: a database shaped like a connection string is JIT_PATH_INVALID", () => {
    for (const path of [
      "access-requests/postgres://u:p@db:5432/orders/alice-1.yaml",
      "access-requests/postgres:%2F%2Fu:p@db/alice-1.yaml",
      "access-requests/host=db user=postgres/alice-1.yaml",
      "access-requests/orders-prod?sslmode=disable/alice-1.yaml",
    ]) {
      const d = request(GOOD, path);
      expect(codes(d), path).toEqual(["JIT_PATH_INVALID"]);
      expect(d.details).toBeNull();
    }
  });

  it("case 11: the connection comes from the policy's variable name, never from request data", () => {
    const r = validRequest(GOOD);
    const d = evaluatePolicy({ request: r, policy, requester: "alice", requesterTeams: teams });
    expect(d.details?.connectionEnv).toBe("ORDERS_PROD_DATABASE_URL");
    const shaped = parsePolicies([{ path: "policies/x.yaml", bytes: utf8("databases:\n  orders:\n    connection_env: postgres://u:p@db/orders\n    roles: {}\n") }]);
    expect(shaped.problems[0]).toMatchObject({ code: "JIT_SCHEMA", line: 3, column: 21 });
  });

  it("case 12: pg_read_all_data is refused by the parser (JIT_IDENTIFIER) and by policy evaluation (JIT_ROLE_NOT_ALLOWED)", () => {
    expect(codes(rejected("role: pg_read_all_data\nduration: 2h\nreason: x\n"))).toEqual(["JIT_IDENTIFIER"]);
    // Defense in depth: even a hand-built request naming it gets nothing from policy evaluation.
    const forged: AccessRequest = { ...validRequest(GOOD), role: "pg_read_all_data" };
    const d = evaluatePolicy({ request: forged, policy, requester: "alice", requesterTeams: teams });
    expect(codes(d)).toEqual(["JIT_ROLE_NOT_ALLOWED"]);
    expect(d.details).toBeNull();
  });

  it("case 12: a role of another database is JIT_ROLE_NOT_ALLOWED at the role line", () => {
    const r = validRequest("reason: x\nrole: billing_readonly\nduration: 2h\nticket: INC-1\n");
    const d = evaluatePolicy({ request: r, policy, requester: "alice", requesterTeams: teams });
    expect(codes(d)).toEqual(["JIT_ROLE_NOT_ALLOWED"]);
    expect(d.problems[0]).toMatchObject({ line: 2, column: 7 });
    expect(d.problems[0]?.message).toContain("billing-prod");
    expect(d.details).toBeNull();
  });
});
