// I18 end to end: a request whose bytes are plain ASCII but whose YAML escapes decode to a bidi
// override, a NUL or a zero-width space is refused by the check run and by the merge, and nothing
// the app writes to GitHub (check run, annotations, comments, alerts) or to its log carries the
// character: it is named as U+XXXX.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORBIDDEN_DECODED } from "../../src/core/text.ts";
import { codesIn, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => {
  w = await startJitE2E();
});
afterAll(async () => { await w?.stop(); });

/** Everything the app wrote about PR `number` on GitHub, and every log line. */
async function everythingWritten(number: number, headSha: string): Promise<string[]> {
  const runs = await w.checks(headSha);
  return [
    ...runs.flatMap((r) => [r.output.title ?? "", r.output.summary ?? "", ...r.annotations.flatMap((a) => [a.title ?? "", a.message])]),
    ...w.comments(number).map((c) => c.body),
    ...w.alerts().flatMap((a) => [a.title, a.body]),
    ...w.e2e.logs,
  ];
}

describe("I18: decoded text is checked (e2e)", () => {
  const cases: [string, string, string][] = [
    ["alice-bidi", `role: orders_readonly\nduration: 2h\nreason: "Investigate \\u202EINC-1234"\nticket: INC-1234\n`, "U+202E"],
    ["alice-nul", `role: orders_readonly\nduration: 2h\nreason: Investigate INC-1234\nticket: "INC-1234\\0"\n`, "U+0000"],
    ["alice-zwsp", `role: "orders_readonly\\u200B"\nduration: 2h\nreason: Investigate INC-1234\nticket: INC-1234\n`, "U+200B"],
  ];
  for (const [id, yaml, label] of cases) {
    it(`I18: an escape decoding to ${label} fails the check, grants nothing on merge and is never echoed`, async () => {
      expect(/^[\x20-\x7E\n]*$/.test(yaml)).toBe(true); // the file's bytes are clean
      const { number, headSha } = await w.request("alice", id, yaml);
      const check = await w.check(headSha);
      expect(check.conclusion).toBe("failure");
      expect(codesIn(check.output.summary)).toContain("JIT_TEXT_FORBIDDEN_CHAR");
      expect(`${check.output.summary}${check.annotations.map((a) => a.message).join()}`).toContain(label);

      await w.repo.review("dora", number, "APPROVE");
      await w.idle();
      const refusal = await w.mergeAndRefusal(number);
      expect(refusal).toContain("JIT_TEXT_FORBIDDEN_CHAR");
      await w.nothingGranted(id);

      for (const text of await everythingWritten(number, headSha)) expect(FORBIDDEN_DECODED.test(text), text.slice(0, 200)).toBe(false);
    });
  }

  it("I18: the same request without the escape is granted (the refusals above are about the escape alone)", async () => {
    const { number } = await w.request("alice", "alice-clean", requestYaml());
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    await w.repo.merge(number);
    await w.idle();
    expect((await w.ledger("alice-clean"))[0]?.status).toBe("active");
  });
});
