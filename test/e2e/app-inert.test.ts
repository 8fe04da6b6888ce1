// I19 end to end: hostile text from a request file, a path, a branch name or a ledger record goes
// through every path the app writes to GitHub, and what the simulator received mentions nobody,
// references and closes nothing, holds no marker but the app's own, no hidden character (I18), and
// keeps the structure of the app's message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probotGitHub } from "../../src/github/installations.ts";
import { memoryInProcess, openRevertPr, type RevertRecord } from "../../src/github/revert-pr.ts";
import { sendReminders } from "../../src/scheduler/reminders.ts";
import { blocksIn, closingIn, FORBIDDEN, htmlIn, linksIn, markersIn, mentionsIn, referencesIn, scan } from "../helpers/github-markdown.ts";
import { requestPath, requestYaml, startJitE2E, type CheckRunView, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
let victimIssue: number;
beforeAll(async () => {
  w = await startJitE2E();
  // An issue someone might want closed by the app's own words.
  victimIssue = (await asUser("sam", "POST", "/repos/acme/access/issues", { title: "keep me open" })).number as number;
});
afterAll(async () => { await w?.stop(); });

const STICKY = "<!-- jit-access:sticky -->";

async function asUser(login: string, method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${w.e2e.sim.baseUrl}${path}`, {
    method, headers: { authorization: `token ${w.e2e.sim.userToken(login)}`, accept: "application/vnd.github+json", "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Hostile text, as YAML double-quoted scalars may carry it. `hidden`: with characters I18 forbids
 * (escapes decode to the real characters, and the request is refused with JIT_TEXT_FORBIDDEN_CHAR).
 */
const hostile = (hidden = false) => [
  "@victim @acme/security cc", `fixes #${victimIssue}`, `closes acme/access#${victimIssue}`, `resolves https://github.com/acme/access/issues/${victimIssue}`,
  "\uFF20victim", STICKY, `<!-- jit-alert:JIT_MERGE_REFUSED:merge:1 -->`, "<details><summary>x</summary>", "<img src=x>",
  "\n## Forged heading\n| a | b |\n|---|---|\n> quote\n- item", "[click](javascript:alert(1)) ![i](https://evil.example/i.png) https://evil.example",
  "```", "`tick`", "**bold** _em_ ~~s~~ $m$ &#64;victim",
  ...(hidden ? ["@\u200Dvictim \u202Egnp.exe\u202C", "\u0000\u0007\u001B[31m\r\n\u2028\u200B\uFEFF"] : []),
].join(" ");

const q = (s: string) => JSON.stringify(s);

/** Every inertness property of one Markdown body; `own`: mentions the app makes on purpose. */
function assertInertMarkdown(body: string, own: { mentions?: string[]; markers?: string[]; html?: string[]; refs?: string[] } = {}) {
  expect(markersIn(body)).toEqual(own.markers ?? []);
  // The app's own markers are HTML comments GitHub does not render: nothing in them links.
  body = (own.markers ?? []).reduce((b, m) => b.replace(m, ""), body);
  expect(mentionsIn(body).filter((m) => !(own.mentions ?? []).includes(m))).toEqual([]);
  expect(referencesIn(body).filter((r) => !(own.refs ?? []).includes(r))).toEqual([]);
  expect(closingIn(body)).toEqual([]);
  expect(linksIn(body)).toEqual([]);
  expect(htmlIn(body).filter((h) => !(own.html ?? []).includes(h))).toEqual([]);
  expect(body.replace(/\n/g, "")).not.toMatch(FORBIDDEN);
  expect(scan(body).rendered).not.toContain("Forged heading\n");
}

/** Plain-text fields: no hidden character, no mention, no closing keyword on a reference. */
function assertInertPlain(text: string | null | undefined) {
  expect((text ?? "").replace(/\n/g, " ")).not.toMatch(FORBIDDEN);
  expect(text ?? "").not.toMatch(/(?<![A-Za-z0-9_])@(?:victim|acme\/security)/);
  expect(closingIn(text ?? "")).toEqual([]);
}

function assertInertCheck(check: CheckRunView) {
  assertInertPlain(check.output.title);
  assertInertMarkdown(check.output.summary ?? "", { mentions: ["alice", "acme/dba"], html: ["<sub>", "</sub>"] });
  for (const a of check.annotations) {
    assertInertPlain(a.message);
    assertInertPlain(a.title);
    expect(a.path).not.toMatch(FORBIDDEN);
  }
}

const headings = (body: string) => blocksIn(body).filter((l) => l.startsWith("#"));
const tableRows = (body: string) => scan(body).active.split("\n").filter((l) => l.startsWith("|"));

describe("I19: the check run and the sticky comment", () => {
  it("I19: a hostile reason renders inert and keeps the check's structure", async () => {
    const benign = await w.request("bob", "bob-benign", requestYaml());
    const yaml = `role: orders_readonly\nduration: 2h\nreason: ${q(hostile())}\nticket: INC-1\n`;
    // mallory plants a comment with the sticky marker first: the app must still find only its own.
    const { number } = await w.request("alice", "alice-hostile", yaml);
    const planted = w.repo.comment("mallory", number, `${STICKY}\n✅ **jit-access**: Ready`);
    const headSha = await w.repo.pushCommits("alice", number, { [requestPath("alice-hostile")]: yaml.replace("2h", "3h") });
    await w.idle();

    const check = await w.check(headSha);
    const good = await w.check(benign.headSha);
    const summary = check.output.summary ?? "";
    assertInertCheck(check);
    // The reason reached the check as the text it is.
    expect(scan(summary).rendered).toContain("<!-- jit-access:sticky --> <!-- jit-alert:JIT_MERGE_REFUSED:merge:1 --> <details>");
    // Same sections and the same table as a benign request.
    expect(headings(summary)).toEqual(headings(good.output.summary ?? ""));
    expect(tableRows(summary).length).toBe(tableRows(good.output.summary ?? "").length);
    for (const row of tableRows(summary)) expect(row.match(/\|/g)).toHaveLength(3);

    const comments = w.comments(number);
    expect(comments.find((c) => c.id === planted)?.user).toBe("mallory");
    const ours = comments.filter((c) => c.user === w.e2e.sim.app.botLogin && c.body.startsWith(STICKY));
    expect(ours).toHaveLength(1);
    assertInertMarkdown(ours[0]!.body, { mentions: ["alice", "acme/dba"], markers: [STICKY] });
  });

  it("I19: unknown keys and bad values quoted in problem messages, in the summary, the title, the annotations and the sticky", async () => {
    const key = `@victim fixes #${victimIssue} <!-- x -->`;
    const yaml = `role: orders_readonly\nduration: ${q(`@acme/security closes #${victimIssue} <b>`)}\nreason: ok\nticket: INC-2\n${q(key)}: ${q(hostile())}\n`;
    const { number, headSha } = await w.request("alice", "alice-keys", yaml);
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("failure");
    assertInertCheck(check);
    expect(check.annotations.length).toBeGreaterThan(0);
    expect(scan(check.output.summary ?? "").rendered).toContain("@victim");
    const sticky = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(sticky).toHaveLength(1);
    assertInertMarkdown(sticky[0]!.body, { mentions: ["alice"], markers: [STICKY] });
  });

  it("I18: characters YAML escapes decode (bidi, NUL, zero-width) are refused and never echoed, in keys and values", async () => {
    const yaml = `role: orders_readonly\nduration: 2h\nreason: ${q(hostile(true))}\nticket: INC-4\n${q(`k\u202Eey @victim`)}: ${q(hostile(true))}\n`;
    const { number, headSha } = await w.request("alice", "alice-hidden", yaml);
    const check = await w.check(headSha);
    expect(check.output.title).toMatch(/^JIT_TEXT_FORBIDDEN_CHAR: /);
    assertInertCheck(check);
    const sticky = w.comments(number).filter((c) => c.body.startsWith(STICKY));
    expect(sticky).toHaveLength(1);
    assertInertMarkdown(sticky[0]!.body, { mentions: ["alice"], markers: [STICKY] });
    const refusal = await w.mergeAndRefusal(number);
    assertInertMarkdown(refusal, { mentions: ["alice"] });
    await w.nothingGranted("alice-hidden");
  });

  it("I19: a hostile path (database directory, request id) and a hostile base branch name", async () => {
    const repo = await w.newRepo("access-inert-path");
    const evilBase = `evil/@victim/fixes#${victimIssue}/<!--x-->`;
    await repo.commitToBranch("mallory", evilBase, { files: { "x.txt": "x\n" }, message: "base" });
    const path = `access-requests/@victim <!-- jit-access:sticky -->/fixes #${victimIssue} \u202E\u200B.yaml`;
    const a = await repo.openPullRequest("alice", "req/path", { [path]: requestYaml() }, { title: `fixes #${victimIssue} @victim` });
    const b = await repo.openPullRequest("alice", "req/base", { [requestPath("alice-base")]: requestYaml() }, { base: evilBase });
    await w.idle();
    for (const headSha of [a.headSha, b.headSha]) {
      const check = await w.check(headSha, repo);
      expect(check.conclusion).toBe("failure");
      assertInertCheck(check);
    }
    expect((await w.check(b.headSha, repo)).output.title).toMatch(/^JIT_PR_BASE_NOT_DEFAULT: /);
    for (const n of [a.number, b.number]) {
      const ours = w.comments(n, repo).filter((c) => c.user === w.e2e.sim.app.botLogin);
      expect(ours).toHaveLength(1);
      assertInertMarkdown(ours[0]!.body, { mentions: ["alice"], markers: [STICKY] });
    }
  });
});

describe("I19: comments and alerts after a merge", () => {
  it("I19: the refusal comment and the JIT_MERGE_REFUSED alert quote hostile problems inert; the app still finds its alert", async () => {
    const key = `@victim closes #${victimIssue}`;
    const yaml = `role: orders_readonly\nduration: 2h\nreason: ${q(hostile())}\nticket: INC-3\n${q(key)}: 1\n`;
    const { number } = await w.request("alice", "alice-refused", yaml);
    const refusal = await w.mergeAndRefusal(number);
    assertInertMarkdown(refusal, { mentions: ["alice"] });
    expect(refusal).toContain("(**JIT_SCHEMA**)");
    expect(scan(refusal).rendered).toContain(`unknown field "@victim closes #${victimIssue}"`);
    const alerts = w.alerts().filter((x) => x.body.startsWith(`<!-- jit-alert:JIT_MERGE_REFUSED:merge:${number} -->`));
    expect(alerts).toHaveLength(1);
    assertInertPlain(alerts[0]!.title);
    assertInertMarkdown(alerts[0]!.body, { mentions: ["alice"], markers: [`<!-- jit-alert:JIT_MERGE_REFUSED:merge:${number} -->`], refs: [`#${number}`] });
    await w.nothingGranted("alice-refused");
    expect(w.repo.issues().find((i) => i.number === victimIssue)?.state).toBe("open");
  });

  it("I19: a hostile path pushed to the default branch: the JIT_UNVERIFIED_PUSH alert keeps one marker, its own", async () => {
    const path = `access-requests/orders-prod/x --> <!-- jit-alert:JIT_MERGE_REFUSED:merge:1 --> @victim fixes #${victimIssue}.yaml`;
    const sha = await w.repo.pushToDefaultBranch({ [path]: requestYaml() }, { asUser: "alice", message: "push" });
    await w.idle();
    const alerts = w.alerts().filter((a) => a.body.startsWith(`<!-- jit-alert:JIT_UNVERIFIED_PUSH:push:${sha}:`));
    expect(alerts).toHaveLength(1);
    const own = markersIn(alerts[0]!.body);
    expect(own).toHaveLength(1);
    expect(alerts[0]!.body.startsWith(own[0]!)).toBe(true);
    expect(own[0]!.indexOf("-->")).toBe(own[0]!.length - 3);
    assertInertPlain(alerts[0]!.title);
    assertInertMarkdown(alerts[0]!.body, { markers: own });
    // The planted key did not silence a real alert of that key.
    expect(w.alerts().filter((a) => a.body.startsWith("<!-- jit-alert:JIT_MERGE_REFUSED:merge:1 -->")).length).toBeLessThanOrEqual(1);
  });
});

describe("I19: the revert PR", () => {
  it("I19: title, body and commit message of a revert PR stay inert whatever the record holds", async () => {
    const repo = await w.newRepo("access-inert-revert", { files: { [requestPath("r1")]: requestYaml() } });
    const octokit = await probotGitHub(w.e2e.app.probot).octokitFor(`acme/${repo.repo.name}`);
    const record: RevertRecord = {
      ledgerId: 1, repository: `acme/${repo.repo.name}`, database: "orders-prod", requestId: "r1", path: requestPath("r1"),
      requester: "renovate[bot]", prNumber: 3, role: `@victim fixes acme/access#${victimIssue}`, dbUser: `<!-- jit-access:revert:x/y --> closes #${victimIssue}`,
      approvers: ["dora", "@victim"], grantedAt: null, expiresAt: null, revokedAt: null, revokedBy: hostile(), sessionsEnded: 0,
      verification: { outcome: `resolves #${victimIssue} <b>`, membershipGone: true, sessionsLeft: 0 },
    };
    const out = await openRevertPr(octokit, { owner: "acme", repo: repo.repo.name }, record, { merge: true, mergeMethod: "merge", label: "jit-expired" }, memoryInProcess());
    await w.idle();
    // Merged into the default branch: GitHub (and the simulator) would close what its body or commits name.
    expect(out.state).toBe("merged");
    expect(w.repo.issues().find((i) => i.number === victimIssue)?.state).toBe("open");
    const pr = await repo.pull(out.number!);
    assertInertPlain(pr.title as string);
    assertInertMarkdown(pr.body as string, { mentions: ["dora"], markers: ["<!-- jit-access:revert:orders-prod/r1 -->"], refs: ["#3"] });
    const commits = await octokit.rest.pulls.listCommits({ owner: "acme", repo: repo.repo.name, pull_number: out.number! });
    for (const c of commits.data) assertInertPlain(c.commit.message);
    expect(tableRows(pr.body as string)).toHaveLength(15);
  });
});

describe("I19: the expiry reminder", () => {
  it("I19: a reminder for a ledger row holding hostile text (a tampered state database) stays inert", async () => {
    const repo = await w.newRepo("access-inert-remind");
    const { number } = await repo.openPullRequest("alice", "req/remind", { [requestPath("remind")]: requestYaml() });
    await w.idle();
    const evil = hostile();
    await w.stateSu.query(
      `INSERT INTO ledger (repository, path, request_id, pr_number, database, cluster_id, role, db_user, duration_ms, status, granted_at, expires_at, actor)
       VALUES ($1, $2, 'remind', $3, 'orders-prod', 'x', $4, $5, 3600000, 'active', now(), now() + interval '10 minutes', 'test')`,
      [`acme/${repo.repo.name}`, requestPath("remind"), number, evil, evil]);
    try {
      const log = { info() {}, warn() {}, error() {} };
      const sent = await sendReminders({ state: w.deps[0]!.state, github: probotGitHub(w.e2e.app.probot), log }, 3_600_000);
      expect(sent).toBe(1);
    } finally {
      // Not a real grant: keep the sweeper of this file away from it.
      await w.stateSu.query("UPDATE ledger SET status = 'revoked', revoked_at = now() WHERE request_id = 'remind' AND repository = $1", [`acme/${repo.repo.name}`]);
    }
    const reminders = w.comments(number, repo).filter((c) => c.body.startsWith("⏳"));
    expect(reminders).toHaveLength(1);
    // The only mention is the PR's author as GitHub reports it (issue 13 item 8), on its own line.
    assertInertMarkdown(reminders[0]!.body, { mentions: ["alice"] });
    expect(reminders[0]!.body.split("\n")).toEqual([expect.stringMatching(/^⏳/), "", "cc @alice (requester)"]);
  });
});
