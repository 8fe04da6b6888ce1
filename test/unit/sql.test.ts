import { describe, expect, it } from "vitest";
import {
  buildGrantPlan, buildRevokeManyPlan, buildRevokePlan, buildTerminatePlan, isSqlIdentifier, quoteIdent, quoteRole, renderStatement,
  SqlIdentifierError, TERMINATE_MANY_SQL, TERMINATE_SQL,
} from "../../src/core/sql.ts";

const base = { role: "orders_readonly", dbUser: "alice", appRole: "jit_app" };

describe("quoteIdent", () => {
  it("quotes allowlisted identifiers", () => {
    expect(quoteIdent("orders_readonly")).toBe('"orders_readonly"');
    expect(quoteIdent("_x9")).toBe('"_x9"');
    expect(quoteIdent("a".repeat(63))).toBe(`"${"a".repeat(63)}"`);
  });

  it("case 6: an array, object, number or boolean throws instead of becoming SQL", () => {
    for (const v of [["alice", "bob"], ["alice"], { toString: () => "alice" }, 7, true, null, undefined]) {
      expect(() => quoteIdent(v)).toThrow(SqlIdentifierError);
      expect(() => buildGrantPlan({ ...base, dbUser: v as unknown as string, pgMajor: 17 })).toThrow(SqlIdentifierError);
    }
  });

  it("case 10: uppercase, look-alikes, whitespace, 64 bytes and metacharacters are refused", () => {
    const bad = [
      "Alice", "аlice" /* Cyrillic а */, "alice ", "alice\n", " alice", "", "1alice", "a".repeat(64),
      'alice"; DROP ROLE x; --', "alice'--", "al-ice", "al ice", "al;ice", 'a"b', "a\u0000b", "ali\u200bce",
    ];
    for (const v of bad) {
      expect(isSqlIdentifier(v), JSON.stringify(v)).toBe(false);
      expect(() => quoteIdent(v), JSON.stringify(v)).toThrow(SqlIdentifierError);
    }
  });

  it("case 10: reserved role specifications are quoted by quoteIdent but refused as role names", () => {
    for (const v of ["public", "current_user", "session_user", "current_role", "none"]) {
      expect(quoteIdent(v)).toBe(`"${v}"`);
      expect(() => quoteRole(v)).toThrow(/reserved/);
      expect(() => buildGrantPlan({ ...base, dbUser: v, pgMajor: 15 })).toThrow(SqlIdentifierError);
    }
  });

  it("errors carry the JIT_IDENTIFIER code", () => {
    try {
      quoteIdent("Bad");
      expect.unreachable();
    } catch (e) {
      expect((e as SqlIdentifierError).code).toBe("JIT_IDENTIFIER");
    }
  });
});

describe("grant plan", () => {
  it("PG15: a plain GRANT", () => {
    expect(buildGrantPlan({ ...base, pgMajor: 15 })).toEqual([{ kind: "grant", text: 'GRANT "orders_readonly" TO "alice"', params: [] }]);
  });

  it("PG16+: ADMIN FALSE, INHERIT TRUE, SET FALSE", () => {
    for (const pgMajor of [16, 17, 18]) {
      expect(buildGrantPlan({ ...base, pgMajor })).toEqual([
        { kind: "grant", text: 'GRANT "orders_readonly" TO "alice" WITH ADMIN FALSE, INHERIT TRUE, SET FALSE', params: [] },
      ]);
    }
  });

  it("case 37: never carries ADMIN TRUE or ADMIN OPTION", () => {
    for (const pgMajor of [15, 16, 17]) {
      for (const s of [...buildGrantPlan({ ...base, pgMajor }), ...buildRevokePlan({ ...base, pgMajor })]) {
        expect(s.text).not.toMatch(/ADMIN\s+(TRUE|OPTION)/i);
        expect(s.text).not.toContain(";");
      }
    }
  });

  it("refuses unsupported majors and a role granted to itself or to the app", () => {
    expect(() => buildGrantPlan({ ...base, pgMajor: 14 })).toThrow(/unsupported/);
    expect(() => buildGrantPlan({ ...base, pgMajor: 16.5 })).toThrow(/unsupported/);
    expect(() => buildGrantPlan({ ...base, dbUser: "jit_app", pgMajor: 17 })).toThrow(SqlIdentifierError);
    expect(() => buildGrantPlan({ ...base, dbUser: "orders_readonly", pgMajor: 17 })).toThrow(SqlIdentifierError);
  });
});

describe("revoke plan", () => {
  it("PG15: REVOKE, then terminate under SET ROLE pg_signal_backend", () => {
    expect(buildRevokePlan({ ...base, pgMajor: 15 })).toEqual([
      { kind: "revoke", text: 'REVOKE "orders_readonly" FROM "alice"', params: [] },
      { kind: "set_role", text: "SET ROLE pg_signal_backend", params: [] },
      { kind: "terminate", text: TERMINATE_SQL, params: ["alice"] },
      { kind: "reset_role", text: "RESET ROLE", params: [] },
    ]);
  });

  it("PG16+: REVOKE … GRANTED BY the app role, then terminate directly", () => {
    expect(buildRevokePlan({ ...base, pgMajor: 17 })).toEqual([
      { kind: "revoke", text: 'REVOKE "orders_readonly" FROM "alice" GRANTED BY "jit_app"', params: [] },
      { kind: "terminate", text: TERMINATE_SQL, params: ["alice"] },
    ]);
  });

  it("the terminate query keeps pg_terminate_backend out of WHERE and skips its own backend", () => {
    const [select, where] = TERMINATE_SQL.split(" WHERE ");
    expect(select).toBe("SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity");
    expect(where).toBe("usename = $1 AND pid <> pg_backend_pid()");
    expect(buildTerminatePlan({ ...base, pgMajor: 17 })[0]!.params).toEqual(["alice"]);
  });

  it("renders statements for people with parameters inlined as literals", () => {
    const [, terminate] = buildRevokePlan({ ...base, pgMajor: 17 });
    expect(renderStatement(terminate!)).toBe(
      "SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE usename = 'alice' AND pid <> pg_backend_pid();");
  });
});

describe("buildRevokeManyPlan (backlog batches, I15 former grantors)", () => {
  const many = { role: "orders_readonly", members: ["alice", "bob"], grantor: "jit_app", appRole: "jit_app" };

  it("PG15: one plain REVOKE for every member, whoever granted (one row per role and member)", () => {
    expect(buildRevokeManyPlan({ ...many, pgMajor: 15 })).toEqual([{ kind: "revoke", text: 'REVOKE "orders_readonly" FROM "alice", "bob"', params: [] }]);
    expect(buildRevokeManyPlan({ ...many, grantor: "jit_app_old", pgMajor: 15 })).toEqual([{ kind: "revoke", text: 'REVOKE "orders_readonly" FROM "alice", "bob"', params: [] }]);
  });

  it("PG16+: GRANTED BY today's app role; a former grantor only under SET ROLE to it, reset afterwards", () => {
    expect(buildRevokeManyPlan({ ...many, pgMajor: 17 })).toEqual([{ kind: "revoke", text: 'REVOKE "orders_readonly" FROM "alice", "bob" GRANTED BY "jit_app"', params: [] }]);
    expect(buildRevokeManyPlan({ ...many, grantor: "jit_app_old", pgMajor: 17 }).map((x) => x.text)).toEqual([
      'SET ROLE "jit_app_old"', 'REVOKE "orders_readonly" FROM "alice", "bob" GRANTED BY "jit_app_old"', "RESET ROLE",
    ]);
  });

  it("refuses members outside the allowlist, the app or grantor among the members, and arrays smuggled in as names", () => {
    expect(buildRevokeManyPlan({ ...many, members: [], pgMajor: 17 })).toEqual([]);
    expect(() => buildRevokeManyPlan({ ...many, members: ["alice", "Bob-X"], pgMajor: 17 })).toThrow(SqlIdentifierError);
    expect(() => buildRevokeManyPlan({ ...many, members: ["alice", "jit_app"], pgMajor: 15 })).toThrow(SqlIdentifierError);
    expect(() => buildRevokeManyPlan({ ...many, members: ["orders_readonly"], pgMajor: 15 })).toThrow(SqlIdentifierError);
    expect(() => buildRevokeManyPlan({ ...many, members: [["a", "b"] as unknown as string], pgMajor: 17 })).toThrow(SqlIdentifierError);
    expect(() => buildRevokeManyPlan({ ...many, grantor: "current_user", pgMajor: 17 })).toThrow(SqlIdentifierError);
  });

  it("the list form of the terminate query keeps the function in the select list, filtered by usename and its own backend", () => {
    const [select, where] = TERMINATE_MANY_SQL.split(" WHERE ");
    expect(select).toBe("SELECT pid, usename::text AS usename, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity");
    expect(where).toBe("usename = ANY($1::text[]) AND pid <> pg_backend_pid()");
  });
});
