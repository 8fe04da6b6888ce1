// Adversarial variants of the GitHub-side invariants (I10, I13, I19) on the pure core: a
// requester with write access, a teammate, a careless admin and a hostile value each try for a
// wrongful grant or the app's voice. "Nothing granted" = the decision is not ok, with the exact code.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../../src/cli/io.ts";
import { run } from "../../src/cli/validate.ts";
import { plain, plainText, text } from "../../src/core/inert.ts";
import { evaluatePullRequest } from "../../src/core/pull-request.ts";
import { accessEntry, keyAuthority, parseRepositories } from "../../src/core/repositories.ts";
import { approve, commit, requestScenario, type ScenarioOptions } from "../helpers/fake-context.ts";
import { closingIn } from "../helpers/github-markdown.ts";
import { POLICY_FIXTURE } from "./support/core-fixtures.ts";

const NOW = Date.parse("2026-03-02T00:00:00Z");
const evaluate = (o: ScenarioOptions, mode: "check" | "merge" = "check") => evaluatePullRequest(requestScenario(o), { now: NOW, mode });
const codes = (p: { code: string }[]) => p.map((x) => x.code);

describe("I13: co-author trailers the app cannot resolve", () => {
  it("I13: a co-author trailer whose email resolves to no account fails closed, even with the co-author's own approval", async () => {
    // dave co-wrote the request under his corporate address and a full name; then approves it.
    const c = commit("alice", "c1", { message: "Request\n\nCo-authored-by: Dave Smith <dave.smith@corp.example>" });
    for (const mode of ["check", "merge"] as const) {
      const d = await evaluate({ commits: [c], reviews: [approve("dave")], merged: mode === "merge" }, mode);
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_COMMIT_UNATTRIBUTED");
      const p = d.problems.find((x) => x.code === "JIT_COMMIT_UNATTRIBUTED")!;
      expect(p.message).toContain("co-author Dave Smith <dave.smith@corp.example>");
      expect(p.hint).toContain("users.noreply.github.com");
    }
  });

  it("I13: a trailer's login-like name is no proof of who the email belongs to: excluded and still fails closed", async () => {
    const c = commit("alice", "c1", { message: "Request\n\nco-authored-by:   erin   <someone@elsewhere.example>" });
    const d = await evaluate({ commits: [c], reviews: [approve("dave"), approve("erin")] });
    expect(d.ok).toBe(false);
    expect(codes(d.problems)).toContain("JIT_COMMIT_UNATTRIBUTED");
    expect(d.details.approval?.excluded).toEqual(expect.arrayContaining([expect.objectContaining({ login: "erin", code: "JIT_APPROVER_IS_CONTRIBUTOR" })]));
  });

  it("I13: a trailer in a later commit of many, upper case and with a CRLF, still counts", async () => {
    const commits = [commit("alice", "c1"), commit("alice", "c2", { message: "fixup\r\n\r\nCO-AUTHORED-BY: D <d@corp.example>\r\n" }), commit("alice", "c3")];
    const d = await evaluate({ commits, reviews: [approve("dave")] });
    expect(d.ok).toBe(false);
    expect(codes(d.problems)).toContain("JIT_COMMIT_UNATTRIBUTED");
  });

  it("I13: a co-author resolved by a noreply address or by a linked email on these commits is attributed (and excluded), not unattributed", async () => {
    const resolvedVariants = [
      [commit("alice", "c1", { message: "Request\n\nCo-authored-by: Dave S <77+dave@users.noreply.github.com>" })],
      [commit("alice", "c1", { message: "Request\n\nCo-authored-by: Dave S <dave@example.com>" }), commit("dave", "c0")],
      [commit("alice", "c1", { message: "Request", coAuthors: [{ name: "D", email: "d@corp.example", login: "dave" }] })],
    ];
    for (const commits of resolvedVariants) {
      const d = await evaluate({ commits, reviews: [approve("dave")] });
      expect(d.ok).toBe(false);
      expect(d.code).toBe("JIT_APPROVALS_MISSING");
      expect(codes(d.problems)).not.toContain("JIT_COMMIT_UNATTRIBUTED");
      expect(d.details.approval?.excluded).toEqual([expect.objectContaining({ login: "dave", code: "JIT_APPROVER_IS_CONTRIBUTOR" })]);
    }
    // control: the same PR without the trailer is approved by dave
    expect((await evaluate({ commits: [commit("alice", "c1")], reviews: [approve("dave")] })).ok).toBe(true);
  });
});

describe("I19: closing keywords and workflow commands", () => {
  it("I19: a closing keyword glued to its reference by a colon (Fixes:#1) is cut in plain text", () => {
    for (const v of ["Fixes:#1", "closes:acme/access#2", "Resolved :GH-3", "FIX: #4", "fixed:https://github.com/acme/access/issues/5"]) {
      const out = plainText(v).text;
      expect(closingIn(out)).toEqual([]);
      expect(closingIn(out.replace(/:/g, ": "))).toEqual([]); // however GitHub reads the colon
    }
    expect(plain`Expire ${"orders-prod/fixes:#1"}`.text).not.toMatch(/fixes\s*:\s*#1/i);
    // in Markdown the reference itself is a code span
    expect(text("Fixes:#1").text).toBe("Fixes:`#1`");
  });

  it("I19: a value holding a newline, %0A or ::set-output cannot start a workflow command in --format github", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jit-adversarial-"));
    temps.push(dir);
    const files: Record<string, string> = {
      "policies/orders.yaml": readFileSync(POLICY_FIXTURE, "utf8"),
      "access-requests/orders-prod/a-1.yaml": `role: orders_readonly\nduration: "x\\n::error::forged%0A::set-output name=x::y\\r\\n::add-mask::z"\nreason: ok\nticket: INC-1\n`,
      "access-requests/orders-prod/b-1.yaml": `role: "orders_readonly\\n::warning file=x::forged"\nduration: 2h\nreason: "%0A::stop-commands::t"\nticket: INC-1\n`,
    };
    for (const [p, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), content);
    }
    const io = captureIo({}, dir);
    const code = await run(["--repo", dir, "--format", "github"], io);
    expect(code).toBe(1);
    const lines = io.stdout.join("\n").split(/\r\n|\r|\n/);
    const commands = lines.filter((l) => l.startsWith("::"));
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const l of commands) expect(l).toMatch(/^::error file=(?:policies\/orders|access-requests\/orders-prod\/[ab]-1)\.yaml,line=\d+,col=\d+,title=JIT_[A-Z0-9_]+::/);
    expect(commands.filter((l) => l.startsWith("::error file=access-requests/")).length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => /^::(?:set-output|add-mask|stop-commands|warning)/.test(l))).toBe(false);
    // %0A in a value is re-escaped (%250A), so the runner cannot decode it into a line break
    for (const l of commands) expect(l).not.toMatch(/%0A::/);
  });
});

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe("I10: JIT_REPOSITORIES as an operator really writes it", () => {
  it("I10: odd spacing and case name the same repository; a trailing slash, a URL or .git suffix names none that matches", () => {
    const d = parseRepositories("  ACME/Access ,  ");
    expect(d.ok).toBe(true);
    expect(accessEntry(d.details, "acme/access")?.name).toBe("acme/access");
    expect(accessEntry(d.details, "acme/access-shadow")).toBeUndefined();
    expect(accessEntry(d.details, "acme/acces")).toBeUndefined();
    for (const bad of ["acme/access/", "https://github.com/acme/access", "acme/ access", "acme//access", "acme/access:orders-prod:x", "/acme/access"]) {
      const r = parseRepositories(bad);
      expect(r.ok, bad).toBe(false);
      expect(codes(r.problems)).toContain("JIT_CONFIG_INVALID");
    }
    // "acme/access.git" is another repository's name, never acme/access
    const git = parseRepositories("acme/access.git");
    expect(accessEntry(git.details, "acme/access")).toBeUndefined();
  });

  it("I10: a key list with spaces and case binds exactly those keys; another repository's key and an unlisted key are refused", () => {
    const d = parseRepositories("acme/access: orders-prod + billing , Acme/Pay:payments");
    expect(d.ok).toBe(true);
    expect(keyAuthority(d.details, "acme/access", "orders-prod")).toBeNull();
    expect(keyAuthority(d.details, "ACME/ACCESS", "billing")).toBeNull();
    expect(keyAuthority(d.details, "acme/access", "payments")?.code).toBe("JIT_REPO_KEY_NOT_BOUND");
    expect(keyAuthority(d.details, "acme/pay", "orders-prod")?.code).toBe("JIT_REPO_KEY_NOT_BOUND");
    expect(keyAuthority(d.details, "acme/access", "Orders-Prod")?.code).toBe("JIT_REPO_KEY_NOT_BOUND");
    expect(keyAuthority(d.details, "acme/shadow", "orders-prod")?.code).toBe("JIT_REPO_NOT_ACCESS");
    expect(codes(parseRepositories("acme/access:orders-prod, acme/pay:orders-prod").problems)).toContain("JIT_CONFIG_INVALID");
  });
});
