// `jit audit` end to end: a grant made through the app on the simulator, extended by a second PR and
// revoked early by a third, told from the ledger alone (review ids, blob SHA, reason, ticket and
// the merge decision are recorded at grant time, migration 021).
import { createHash } from "node:crypto";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import auditSchema from "../../schemas/audit.schema.json" with { type: "json" };
import { main } from "../../src/cli/main.ts";
import { captureIo } from "../../src/cli/io.ts";
import { requestPath, requestYaml, startJitE2E, type JitE2E } from "./app-fixture.ts";

let w: JitE2E;
beforeAll(async () => { w = await startJitE2E(); });
afterAll(async () => { await w?.stop(); });

async function audit(...args: string[]) {
  const e = w.appEnv;
  const io = captureIo({ DATABASE_URL: e.DATABASE_URL!, ...(args.includes("--github") ? { APP_ID: e.APP_ID!, PRIVATE_KEY: e.PRIVATE_KEY!, GITHUB_API_URL: e.GITHUB_API_URL! } : {}) });
  const code = await main(["audit", ...args], io);
  return { code, out: io.stdout.join("\n"), err: io.stderr.join("\n") };
}

describe("jit audit", () => {
  it("tells a story that crosses an extension and an early revoke", async () => {
    const id = "bob-audit";
    const yaml = requestYaml({ duration: "1h", reason: "Check INC-77 refunds", ticket: "INC-77" });
    const { number: grantPr, headSha } = await w.request("bob", id, yaml);
    const doraReview = await w.repo.review("dora", grantPr, "APPROVE");
    await w.idle();
    const mergeSha = await w.repo.merge(grantPr, { method: "squash" });
    await w.idle();

    const ext = await w.repo.openPullRequest("bob", `ext/${id}`, { [requestPath(id)]: requestYaml({ duration: "3h", reason: "Check INC-77 refunds", ticket: "INC-77" }) });
    await w.idle();
    const danReview = await w.repo.review("dan", ext.number, "APPROVE");
    await w.idle();
    const extSha = await w.repo.merge(ext.number, { method: "merge" });
    await w.idle();

    const del = await w.repo.openPullRequest("bob", `done/${id}`, { [requestPath(id)]: null }, { title: "done" });
    await w.idle();
    await w.repo.merge(del.number, { method: "squash" });
    await w.idle();

    const { code, out, err } = await audit(`orders-prod/${id}`, "--format", "json");
    expect(err).toBe("");
    expect(code).toBe(0);
    const s = JSON.parse(out);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    ajv.validate(auditSchema, s);
    expect(ajv.errors ?? []).toEqual([]);
    const [row] = await w.ledger(id);
    const submitted = w.repo.reviews(grantPr).find((r) => r.id === doraReview)!.submitted_at as string;
    const blobSha = createHash("sha1").update(`blob ${Buffer.byteLength(yaml)}\0${yaml}`).digest("hex");

    expect(s).toMatchObject({
      schema: "jit-audit/1", status: "revoked", repository: "acme/access",
      request: { database: "orders-prod", requestId: id, path: requestPath(id), blobSha, reason: "Check INC-77 refunds", ticket: "INC-77" },
      requester: "bob",
      beneficiary: { login: "bob" },
      pullRequest: { number: grantPr, headSha, mergeSha },
      approvals: [{ login: "dora", reviewId: doraReview, commitId: headSha, submittedAt: submitted }],
      decision: { ok: true, code: "JIT_OK" },
      extensions: [{ prNumber: ext.number, mergeSha: extSha, approvers: ["dan"], approvals: [{ login: "dan", reviewId: danReview }] }],
      revoke: { reason: `early revoke: request file deleted by pull request #${del.number}`, actor: `github:merge:acme/access#${del.number}`, early: true },
      rebuilt: null,
    });
    expect(s.beneficiary.oid).toMatch(/^\d+$/);
    expect(s.pullRequest.mergedAt).toMatch(/Z$/);
    expect(s.sql.map((q: { text: string }) => q.text).join("\n")).toMatch(/GRANT "orders_readonly" TO "bob"[\s\S]*REVOKE/);
    expect(s.revoke.verification).toMatchObject({ membershipGone: true });
    expect(s.extensions[0].to).toBe(new Date(row!.expires_at!.getTime()).toISOString());
    expect(s.sources.notRecorded).toEqual([]);
    expect(s.activity).not.toBeNull(); // the activity summary of the window (src/db/activity.ts)
    expect(s.events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(["grant_intent", "granted", "extended", "revoked"]));

    // --github: the same facts read from GitHub today, and whether they match the ledger
    const crossChecked = JSON.parse((await audit(`orders-prod/${id}`, "--format", "json", "--github")).out);
    expect(crossChecked.github).toEqual({
      pullRequest: { number: grantPr, merged: true, mergeSha, mergedAt: s.pullRequest.mergedAt.replace(".000Z", "Z"), matches: true },
      approvals: [{ reviewId: doraReview, login: "dora", state: "APPROVED", onGitHub: true }],
      requestBlob: { sha: blobSha, matches: true }, revertPr: null, error: null,
    });
    expect(crossChecked.sources.github).toEqual(["pullRequest", "approvals", "requestBlob"]);
    ajv.validate(auditSchema, crossChecked);
    expect(ajv.errors ?? []).toEqual([]);

    const text = await audit(`orders-prod/${id}`);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`@dora  review ${doraReview} on ${headSha}`);
    expect(text.out).toContain(`extension by #${ext.number}`);
    expect(text.out).toContain("(early)");
  });

  it("not found is exit 1 with JIT_GRANT_NOT_FOUND; malformed targets and formats are usage errors (2)", async () => {
    const missing = await audit("orders-prod/nobody-here");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("JIT_GRANT_NOT_FOUND");
    expect((await audit("orders-prod/bob-audit", "--repo", "acme/other")).code).toBe(1);
    expect((await audit("../etc/passwd")).code).toBe(2);
    expect((await audit()).code).toBe(2);
    expect((await audit("orders-prod/bob-audit", "--format", "csv")).code).toBe(2);
  });
});
