// docs/security.md cases 25, 26, 27 and 29 through the app: pushes that bypass pull requests, webhook
// signatures, production configuration, and payloads that disagree with the API.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { APP_ROLE, requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E({ protection: { requiredApprovingReviews: 1 } }); });
afterAll(async () => { await w?.stop(); });


async function deliveriesRecorded(guid: string): Promise<number> {
  const { rows } = await w.stateSu.query("SELECT count(*)::int AS n FROM deliveries WHERE delivery_id = $1", [guid]);
  return rows[0].n as number;
}

describe("case 25: a request file pushed to the default branch without a pull request", () => {
  it("case 25: is never granted and raises one JIT_UNVERIFIED_PUSH alert, also when the push is redelivered", async () => {
    const path = requestPath("alice-25");
    const sha = await w.repo.pushToDefaultBranch({ [path]: requestYaml() }, { asUser: "alice", message: "grant myself" });
    await w.idle();
    await w.nothingGranted("alice-25");
    expect(await w.ledger("alice-25")).toEqual([]);
    const alerts = w.alerts();
    expect(alerts.map((a) => a.title)).toEqual([`[JIT_UNVERIFIED_PUSH] ${path} reached main without a verified pull request`]);
    expect(alerts[0]!.body).toContain(`Commit ${sha} changed \`${path}\``);
    expect(w.e2e.logs.some((l) => l.includes('"code":"JIT_UNVERIFIED_PUSH"') && l.includes(path))).toBe(true);

    const push = w.e2e.sim.findDeliveries({ event: "push", predicate: (d) => d.payload.after === sha })[0]!;
    w.e2e.sim.redeliver(push.guid);
    await w.e2e.sim.sendSignedDelivery("push", push.payload, "valid"); // same content, new delivery id
    await w.idle();
    expect(w.alerts()).toHaveLength(1);
    await w.nothingGranted("alice-25");
  });

  it("case 25: a later request PR for a pushed file does not make the push count: only the PR's own merge is verified", async () => {
    // the file already sits on main; a PR editing it is an edit of an un-granted request: a new grant
    const { number, headSha } = await w.repo.openPullRequest("alice", "req/alice-25-edit", { [requestPath("alice-25")]: requestYaml({ reason: "Now through a PR" }) });
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("action_required");
    await w.repo.close(number);
    await w.idle();
    await w.nothingGranted("alice-25");
  });
});

describe("case 26: webhook signatures", () => {
  it("case 26: bad, missing, sha1-only and 'development'-signed deliveries are answered 4xx and the app does nothing", async () => {
    w.e2e.sim.dropNextDelivery({ event: "pull_request", action: "opened" });
    const { headSha } = await w.repo.openPullRequest("alice", "req/alice-26", { [requestPath("alice-26")]: requestYaml() });
    await w.idle();
    const dropped = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
    expect(dropped.dropped).toBe(true);
    expect(await w.checks(headSha)).toEqual([]);

    w.e2e.sim.clearRequestLog();
    for (const sign of ["bad", "missing", "sha1-only", { secret: "development" }] as const) {
      const d = await w.e2e.sim.sendSignedDelivery("pull_request", dropped.payload, sign);
      expect(d.status, JSON.stringify(sign)).toBeGreaterThanOrEqual(400);
      expect(d.status, JSON.stringify(sign)).toBeLessThan(500);
      expect(await deliveriesRecorded(d.guid)).toBe(0);
    }
    await w.idle();
    expect(w.e2e.sim.requests()).toEqual([]); // not one API call: no handler ran
    expect(await w.checks(headSha)).toEqual([]);

    // control: the same payload, correctly signed, runs the handler
    const ok = await w.e2e.sim.sendSignedDelivery("pull_request", dropped.payload, "valid");
    expect(ok.status).toBe(202);
    await w.idle();
    expect(await deliveriesRecorded(ok.guid)).toBe(1);
    expect((await w.check(headSha)).conclusion).toBe("action_required");
  });
});

describe("case 27: production configuration", () => {
  const base = { NODE_ENV: "production", JIT_REPOSITORIES: "acme/access", APP_ID: "31337", PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----", WEBHOOK_SECRET: "s3cret-of-at-least-some-length", DATABASE_URL: "postgres://127.0.0.1:1/state" };
  const refusal = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.map((p) => `${p.code}: ${p.message}`);
    }
    return [];
  };

  it("case 27: WEBHOOK_SECRET unset or Probot's fallback 'development', or APP_ID missing → JIT_PRODUCTION_CONFIG", () => {
    expect(refusal(base)).toEqual([]);
    expect(refusal({ ...base, WEBHOOK_SECRET: undefined })).toEqual(["JIT_PRODUCTION_CONFIG: WEBHOOK_SECRET is required when NODE_ENV=production"]);
    expect(refusal({ ...base, WEBHOOK_SECRET: "" })).toEqual(["JIT_PRODUCTION_CONFIG: WEBHOOK_SECRET is required when NODE_ENV=production"]);
    expect(refusal({ ...base, WEBHOOK_SECRET: "development" })).toEqual([`JIT_PRODUCTION_CONFIG: WEBHOOK_SECRET must not be Probot's fallback "development" in production`]);
    expect(refusal({ ...base, APP_ID: undefined })).toEqual(["JIT_PRODUCTION_CONFIG: APP_ID is required when NODE_ENV=production"]);
    expect(refusal({ ...base, PRIVATE_KEY: undefined })).toEqual(["JIT_PRODUCTION_CONFIG: PRIVATE_KEY or PRIVATE_KEY_PATH is required when NODE_ENV=production"]);
    expect(refusal({ ...base, DATABASE_URL: undefined })).toEqual(["JIT_PRODUCTION_CONFIG: DATABASE_URL is required when NODE_ENV=production (the embedded PostgreSQL is for development only)"]);
    // the refusal names variables, never their values
    expect(refusal({ ...base, WEBHOOK_SECRET: "development", APP_ID: undefined }).join("\n")).not.toContain(base.PRIVATE_KEY);
    // outside production the same settings are accepted (local development with the fallback)
    expect(refusal({ ...base, NODE_ENV: "development", WEBHOOK_SECRET: undefined, APP_ID: undefined })).toEqual([]);
  });
});

describe("case 27: the process refuses to start", () => {
  const ROOT = resolve(import.meta.dirname, "../..");

  /** `node src/main.ts` in an empty directory, with only the variables given. */
  function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string; leftovers: string[] }> {
    const cwd = mkdtempSync(join(tmpdir(), "jit-main-"));
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, [join(ROOT, "src/main.ts")], {
        cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, ...env }, stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.once("error", fail);
      child.once("exit", (code) => {
        clearTimeout(timer);
        const leftovers = readdirSync(cwd); // it must not have created state (.data) before refusing
        rmSync(cwd, { recursive: true, force: true });
        done({ code, stderr, stdout, leftovers });
      });
    });
  }

  const prod = { NODE_ENV: "production", JIT_REPOSITORIES: "acme/access", APP_ID: "31337", PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\\nx\\n-----END RSA PRIVATE KEY-----", DATABASE_URL: "postgres://127.0.0.1:1/state" };
  for (const [what, env, message] of [
    ["WEBHOOK_SECRET unset", { ...prod }, "WEBHOOK_SECRET is required when NODE_ENV=production"],
    ["WEBHOOK_SECRET=development", { ...prod, WEBHOOK_SECRET: "development" }, `WEBHOOK_SECRET must not be Probot's fallback "development" in production`],
    ["APP_ID missing", { NODE_ENV: "production", JIT_REPOSITORIES: "acme/access", PRIVATE_KEY: prod.PRIVATE_KEY, WEBHOOK_SECRET: "a-real-secret-value", DATABASE_URL: prod.DATABASE_URL }, "APP_ID is required when NODE_ENV=production"],
    ["JIT_REPOSITORIES unset (I10)", { ...prod, JIT_REPOSITORIES: "", WEBHOOK_SECRET: "a-real-secret-value" }, "JIT_REPOSITORIES must name the access repositories when NODE_ENV=production (e.g. acme/access)"],
  ] as const) {
    it(`case 27: node src/main.ts with NODE_ENV=production and ${what} exits non-zero with JIT_PRODUCTION_CONFIG`, async () => {
      const r = await start(env);
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull();
      expect(r.stderr).toContain(`JIT_PRODUCTION_CONFIG: ${message}`);
      expect(r.leftovers).toEqual([]);
    });
  }
  it("case 27: node src/main.ts with NODE_ENV=production and DATABASE_URL unset refuses in one line, before touching the embedded PostgreSQL", async () => {
    const { DATABASE_URL: _unset, ...env } = { ...prod, WEBHOOK_SECRET: "a-real-secret-value" };
    const r = await start(env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual(["refusing to start: JIT_PRODUCTION_CONFIG: DATABASE_URL is required when NODE_ENV=production (the embedded PostgreSQL is for development only)"]);
    expect(r.leftovers).toEqual([]);
  });
});

describe("case 29: the payload says approved, the API says otherwise", () => {
  it("case 29: an approval dismissed without the app hearing of it: a stale 'approved' payload re-evaluates from the API; merging grants nothing", async () => {
    const { number, headSha } = await w.request("alice", "alice-29");
    const review = await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success");
    const submitted = w.e2e.sim.findDeliveries({ event: "pull_request_review", action: "submitted" }).at(-1)!;
    expect((submitted.payload.review as { state: string }).state).toBe("approved");

    w.e2e.sim.dropNextDelivery({ event: "pull_request_review", action: "dismissed" });
    await w.repo.dismissReview(review, { asUser: "sam", message: "approved the wrong PR" });
    await w.idle();
    expect((await w.check(headSha)).conclusion).toBe("success"); // the app was not told

    // GitHub sends the old payload again (a new delivery of the same "approved" event)
    const again = await w.e2e.sim.sendSignedDelivery("pull_request_review", submitted.payload, "valid");
    expect(again.status).toBe(202);
    await w.idle();
    const check = await w.check(headSha);
    expect(check.conclusion).toBe("action_required");
    expect(check.output.summary).toContain("**JIT_APPROVALS_MISSING**: 0 of 1 required approval");

    await w.repo.merge(number, { asAdminBypass: true });
    await w.idle();
    const refusal = w.comments(number).filter((c) => c.body.startsWith("❌")).map((c) => c.body);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain("(**JIT_APPROVALS_MISSING**)");
    await w.nothingGranted("alice-29");
    expect(await w.ledger("alice-29")).toEqual([]);
  });

  it("case 29: a 'closed, merged' payload for a PR the API shows open grants nothing and does not block the real merge", async () => {
    const { number, headSha } = await w.request("bob", "bob-29");
    await w.repo.review("dora", number, "APPROVE");
    await w.idle();
    const opened = w.e2e.sim.findDeliveries({ event: "pull_request", action: "opened" }).at(-1)!;
    const pr = opened.payload.pull_request as Record<string, unknown>;
    expect(pr.number).toBe(number);
    const forged = { ...opened.payload, action: "closed", pull_request: { ...pr, state: "closed", merged: true, merge_commit_sha: headSha, merged_at: pr.created_at } };
    const d = await w.e2e.sim.sendSignedDelivery("pull_request", forged, "valid");
    expect(d.status).toBe(202);
    await w.idle();
    await w.nothingGranted("bob-29", "bob");
    expect(await w.ledger("bob-29")).toEqual([]);
    expect(w.comments(number).filter((c) => !c.body.startsWith("<!-- jit-access:sticky -->"))).toEqual([]);

    await w.repo.merge(number);
    await w.idle();
    expect((await w.appGranted()).filter((m) => m.member === "bob")).toEqual([{ role: "orders_readonly", member: "bob", grantor: APP_ROLE }]);
    expect((await w.ledger("bob-29"))[0]!.status).toBe("active");
  });
});
