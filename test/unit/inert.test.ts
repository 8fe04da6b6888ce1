import { describe, expect, it } from "vitest";
import { code, codeBlock, jitCode, marker, md, mention, plain, plainText, text, visible } from "../../src/core/inert.ts";
import { problem } from "../../src/core/problem.ts";
import { HOSTILE } from "../helpers/hostile.ts";
import { blocksIn, closingIn, FORBIDDEN, htmlIn, linksIn, markersIn, mentionsIn, referencesIn, scan } from "../helpers/github-markdown.ts";

const rendered = (m: { text: string }) => scan(m.text).rendered;

describe("I19: text() renders untrusted text inert", () => {
  for (const v of HOSTILE) {
    it(`I19: ${JSON.stringify(v).slice(0, 60)}`, () => {
      const out = text(v).text;
      expect(mentionsIn(out)).toEqual([]);
      expect(referencesIn(out)).toEqual([]);
      expect(closingIn(out)).toEqual([]);
      expect(linksIn(out)).toEqual([]);
      expect(htmlIn(out)).toEqual([]);
      expect(markersIn(out)).toEqual([]);
      expect(out).not.toMatch(FORBIDDEN);
      expect(out).not.toContain("\n");
      // In a table row, in a list item, after a heading: the app's structure stays the app's.
      const row = md`| Reason | ${v} |`.text;
      expect(scan(row).active.match(/\|/g)).toHaveLength(3);
      const doc = md`### What to fix\n\n- **JIT_SCHEMA**: ${v}\n\n| | |\n|---|---|\n| Reason | ${v} |`.text;
      const blocks = blocksIn(doc);
      expect(blocks).toHaveLength(2);
      expect(blocks[0]).toBe("### What to fix");
      expect(blocks[1]!.startsWith("- ")).toBe(true);
      expect(doc.split("\n")).toHaveLength(7);
    });
  }

  it("I19: nothing is lost: the rendered text is the value with hidden characters shown as escapes", () => {
    for (const v of HOSTILE) {
      const expected = visible(v).replace(/\uFF20|\uFE6B/g, "@").replace(/\uFF03/g, "#");
      expect(rendered(text(v))).toBe(expected);
    }
  });

  it("I18: hidden characters become visible escapes such as \\u202E", () => {
    expect(visible("a\u202Eb\u0000c\nd\u200De\u{E0041}")).toBe("a\\u202Eb\\u0000c\\u000Ad\\u200De\\uE0041");
    expect(rendered(text("x\u202Ey"))).toBe("x\\u202Ey");
  });

  it("I19: length is bounded, by characters, never splitting a surrogate pair", () => {
    const long = "😀".repeat(1000);
    const out = rendered(text(long, { max: 10 }));
    expect(Array.from(out)).toHaveLength(10);
    expect(out.endsWith("…")).toBe(true);
    expect(out).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
    expect(Array.from(rendered(text("a".repeat(5000))))).toHaveLength(300);
  });

  it("I19: readable words stay readable (no escape inside identifiers and sentences)", () => {
    expect(text("orders_readonly on orders-prod for 2h: it's fine.").text).toBe("orders_readonly on orders-prod for 2h: it's fine.");
    expect(text("JIT_APPROVALS_MISSING").text).toBe("JIT_APPROVALS_MISSING");
  });

  it("I19: only accounts the app read from GitHub may stay mentions", () => {
    const out = text("@dora's approval does not count; @victim too", { mentions: new Set(["dora"]) }).text;
    expect(mentionsIn(out)).toEqual(["dora"]);
  });
});

describe("I19: the typed builders", () => {
  it("I19: md`` escapes every interpolated string and keeps the app's own words and Md values", () => {
    const hostile = "@victim <!-- jit-access:sticky --> fixes #9";
    const out = md`**Heading** ${hostile} and ${code("orders_readonly")} ${3}`.text;
    expect(out.startsWith("**Heading** ")).toBe(true);
    expect(out).toContain("`orders_readonly` 3");
    expect(mentionsIn(out)).toEqual([]);
    expect(markersIn(out)).toEqual([]);
    expect(closingIn(out)).toEqual([]);
  });

  it("I19: code() is a code span only when it can be one", () => {
    expect(code("orders-prod").text).toBe("`orders-prod`");
    for (const v of ["a`b", "a|b", "a b", "", "x\u202Ey z"]) {
      const out = code(v).text;
      expect(scan(`| ${out} |`).active.match(/\|/g)).toHaveLength(2);
      expect(out).not.toMatch(FORBIDDEN);
    }
    expect(code("x\u202Ey").text).toBe("`x\\u202Ey`");
  });

  it("I19: mention() mentions well-formed logins only", () => {
    expect(mention("alice").text).toBe("@alice");
    for (const v of ["renovate[bot]", "a--b", "-a", "evil/../x", "@alice", "x".repeat(40), "a b"]) expect(mentionsIn(mention(v).text)).toEqual([]);
  });

  it("I19: jitCode() keeps codes and escapes anything else", () => {
    expect(jitCode("JIT_SCHEMA").text).toBe("JIT_SCHEMA");
    expect(htmlIn(jitCode("JIT_<b>").text)).toEqual([]);
  });

  it("I19: codeBlock() cannot be closed by its lines", () => {
    const out = codeBlock("sql", ["GRANT x", "```", "````", "@victim <!-- -->"]).text;
    const lines = out.split("\n");
    expect(lines[0]).toBe("`````sql");
    expect(lines.at(-1)).toBe("`````");
    expect(mentionsIn(out)).toEqual([]);
    expect(markersIn(out)).toEqual([]);
  });

  it("I19: marker() keys cannot end the comment or carry a second marker", () => {
    expect(marker("jit-access:sticky").text).toBe("<!-- jit-access:sticky -->");
    expect(marker("jit-alert", "JIT_UNVERIFIED_PUSH:push:abc:access-requests/orders-prod/x.yaml").text)
      .toBe("<!-- jit-alert:JIT_UNVERIFIED_PUSH:push:abc:access-requests/orders-prod/x.yaml -->");
    const forged = marker("jit-alert", "k --> <!-- jit-access:sticky --> \u202E\uD800").text;
    expect(markersIn(forged)).toEqual([forged]);
    expect(forged).not.toMatch(FORBIDDEN);
    expect(marker("jit-alert", "a/b").text).not.toBe(marker("jit-alert", "a%2Fb").text);
  });

  it("I19: plain text keeps no mention, no closing keyword, no hidden character", () => {
    for (const v of HOSTILE) {
      const out = plainText(v).text;
      expect(out).not.toMatch(FORBIDDEN);
      expect(out).not.toMatch(/(?<![A-Za-z0-9_])@[A-Za-z0-9]/);
      expect(closingIn(out.replace(/[\\`]/g, ""))).toEqual([]);
    }
    expect(plain`Expire ${"orders-prod/alice-1"}: ${"orders_readonly"}`.text).toBe("Expire orders-prod/alice-1: orders_readonly");
    expect(plainText("Waiting for @acme/dba", { mentions: new Set(["acme/dba"]) }).text).toBe("Waiting for @acme/dba");
  });

  it("I18: problem messages and hints never hold a hidden character, in any output", () => {
    const p = problem("JIT_SCHEMA", "unknown field \"a\u202Eb\"", { hint: "remove\u0000 it" });
    expect(p.message).toBe("unknown field \"a\\u202Eb\"");
    expect(p.hint).toBe("remove\\u0000 it");
  });
});
