// What `jit actions` accepts from the runner: the variables Actions sets, an event it handles, an
// event file that is a JSON object about the run's own repository. Anything else is refused with a code.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JOB_EVENTS, readActionsRun } from "../../src/actions/environment.ts";

const dir = mkdtempSync(join(tmpdir(), "jit-actions-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const p = join(dir, `event-${++n}.json`);
  writeFileSync(p, text);
  return p;
}
const env = (event: string, path: string, over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ GITHUB_EVENT_NAME: event, GITHUB_EVENT_PATH: path, GITHUB_REPOSITORY: "acme/access", GITHUB_RUN_ID: "42", ...over });

describe("readActionsRun", () => {
  it("reads the run: event, payload, repository split, run id", async () => {
    const r = await readActionsRun("grant", env("push", file(JSON.stringify({ ref: "refs/heads/main", repository: { full_name: "ACME/access" } })), { GITHUB_SHA: "a".repeat(40) }));
    expect(r).toMatchObject({ job: "grant", event: "push", owner: "acme", repo: "access", runId: "42", sha: "a".repeat(40), payload: { ref: "refs/heads/main" } });
  });

  it("each job runs only on its own events; a PR event never reaches grant or sweep", async () => {
    for (const [job, events] of Object.entries(JOB_EVENTS)) {
      for (const e of ["pull_request", "pull_request_review", "issue_comment", "pull_request_target", "push", "schedule", "workflow_run"]) {
        const r = await readActionsRun(job as keyof typeof JOB_EVENTS, env(e, file("{}")));
        if (events.includes(e)) expect("code" in r, `${job} ${e}`).toBe(false);
        else expect(r, `${job} ${e}`).toMatchObject({ code: "JIT_ACTIONS_EVENT" });
      }
    }
    expect(JOB_EVENTS.grant.some((e) => e.startsWith("pull_request"))).toBe(false);
    expect(JOB_EVENTS.sweep.some((e) => e.startsWith("pull_request"))).toBe(false);
  });

  it("refuses missing variables, a malformed repository, unreadable or non-object event files, another repository's event", async () => {
    expect(await readActionsRun("sweep", {})).toMatchObject({ code: "JIT_CONFIG_MISSING_ENV" });
    expect(await readActionsRun("sweep", env("schedule", file("{}"), { GITHUB_REPOSITORY: "acme/access/x" }))).toMatchObject({ code: "JIT_CONFIG_INVALID" });
    expect(await readActionsRun("sweep", env("schedule", join(dir, "absent.json")))).toMatchObject({ code: "JIT_CONFIG_INVALID" });
    for (const text of ["not json", "[]", "null", "\"x\""]) expect(await readActionsRun("sweep", env("schedule", file(text))), text).toMatchObject({ code: "JIT_CONFIG_INVALID" });
    expect(await readActionsRun("grant", env("push", file(JSON.stringify({ repository: { full_name: "acme/other" } }))))).toMatchObject({ code: "JIT_CONFIG_INVALID" });
    expect(await readActionsRun("grant", env("push", file(JSON.stringify({ repository: { full_name: 7 } }))))).toMatchObject({ code: "JIT_CONFIG_INVALID" });
  });
});
