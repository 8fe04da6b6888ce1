// The one applier (usecases/apply-action.ts) against a real cluster: a revoke that revoke_by has
// not allowed is never applied; an operator's and an expiry's revokes end the membership, and the
// expiry's revert PR is queued in the outbox only after the revoke is recorded; a failed revoke is
// reported (or thrown for a merge, so its delivery is retried) and leaves the grant active.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expiryAction, operatorRevokeAction, type RevokeAction } from "../../src/core/action.ts";
import { decide } from "../../src/core/problem.ts";
import { enqueueItem } from "../../src/db/outbox.ts";
import { applyAction, applyRevokes, type ApplyEnv } from "../../src/usecases/apply-action.ts";
import { startPostgres, type TestCluster } from "../harness/postgres.ts";
import { DB_KEY, ledgerRow, setupGrantFixture, type GrantFixture } from "../harness/grant-fixture.ts";

let cluster: TestCluster;
let f: GrantFixture;
let n = 0;
const QUIET = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  cluster = await startPostgres();
  f = await setupGrantFixture(cluster, { logins: ["alice", "bob", "carol", "dave", "erin", "fay", "gus"] });
});
afterAll(async () => {
  await f?.close();
  await cluster?.stop();
});

const env = (): ApplyEnv => ({ state: f.state, log: QUIET, engine: () => f.engine, now: () => 0 });
const key = (requestId: string) => ({ repository: "acme/access", database: DB_KEY, requestId });

async function granted(user: string): Promise<string> {
  const id = `apply-${++n}`;
  const d = await f.engine.grant(f.input(id, { dbUser: user }));
  expect(d.ok).toBe(true);
  return id;
}

async function reverts(requestId: string): Promise<number> {
  const { rows } = await f.stateSu.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE kind = 'revert_pr' AND dedupe_key LIKE '%' || $1", [`/${requestId}`]);
  return rows[0]!.n;
}

describe("applyAction: the one path for revokes", () => {
  it("revoke_by: a deletion whose authority is still pending is never applied: the grant stays, nothing is revoked", async () => {
    const id = await granted("alice");
    const pending: RevokeAction = {
      kind: "revoke", why: "test", origin: { via: "push", repository: "acme/access", commit: "c".repeat(40), branch: "main", path: `access-requests/${DB_KEY}/${id}.yaml` },
      key: key(id), reason: "early revoke", actor: "test", policy: f.policy, authority: "pending", retryOnFailure: false,
    };
    await expect(applyAction(env(), pending)).rejects.toThrow(/revoke_by/);
    expect(await ledgerRow(f, id)).toMatchObject({ status: "active" });
    expect(await f.appGranted()).toContainEqual(expect.objectContaining({ member: "alice" }));
  });

  it("jit revoke: an operator's revoke ends the membership now and records the reason; its revert PR is queued once (git true after every revoke)", async () => {
    const id = await granted("bob");
    const applied = await applyAction(env(), operatorRevokeAction(key(id), "incident 42", "cli:ops", f.policy));
    expect(applied).toMatchObject({ outcome: { kind: "revoked", existing: false }, final: true, revoke: { ok: true } });
    expect(await ledgerRow(f, id)).toMatchObject({ status: "revoked", revoke_reason: "incident 42" });
    expect((await f.appGranted()).filter((m) => m.member === "bob")).toEqual([]);
    expect(await reverts(id)).toBe(1);
    // Applied twice (a retry): already closed, nothing executed again.
    expect((await applyAction(env(), operatorRevokeAction(key(id), "incident 42", "cli:ops", f.policy))).outcome).toEqual({ kind: "revoked", existing: true });
  });

  it("expiry: the revoke is recorded, then its revert PR is queued once; a batch of rows goes through revokeMany", async () => {
    const ids = [await granted("carol"), await granted("dave")];
    const rows = await Promise.all(ids.map(async (id) => Number((await ledgerRow(f, id))!.id)));
    const actions = ids.map((id, i) => expiryAction({ ledgerId: rows[i]!, key: key(id), connectionEnv: null }, decide(f.policy, [], ""), true, "test:sweep") as RevokeAction);
    const seen: string[] = [];
    const { results, revertsQueued } = await applyRevokes(env(), actions, (a, applied) => seen.push(`${a.key.requestId}:${applied?.outcome.kind}`));
    expect(seen).toEqual(ids.map((id) => `${id}:revoked`));
    expect(results.map((r) => r.applied?.revoke?.ok)).toEqual([true, true]);
    expect(revertsQueued).toBe(2);
    for (const id of ids) {
      expect(await ledgerRow(f, id)).toMatchObject({ status: "revoked", revoke_reason: "expired" });
      expect(await reverts(id)).toBe(1);
    }
    expect((await f.appGranted()).filter((m) => m.member === "carol" || m.member === "dave")).toEqual([]);
  });

  it("a revoke that cannot run is reported as a refusal that is not final; from a merge it is thrown (the delivery retries); the grant stays active", async () => {
    const id = await granted("erin");
    const noTarget = { ...env(), engine: () => f.newEngine({ env: {} }).engine };
    const op = await applyAction(noTarget, operatorRevokeAction(key(id), "x", "cli:ops", f.policy));
    expect(op).toMatchObject({ outcome: { kind: "refused" }, final: false, revoke: { ok: false } });
    const fromMerge: RevokeAction = { ...operatorRevokeAction(key(id), "early", "github:merge", f.policy), origin: { via: "merge", repository: "acme/access", pr: 9 }, retryOnFailure: true };
    await expect(applyAction(noTarget, fromMerge)).rejects.toMatchObject({ code: expect.stringMatching(/^JIT_/) });
    expect(await ledgerRow(f, id)).toMatchObject({ status: "active" });
    expect(await f.appGranted()).toContainEqual(expect.objectContaining({ member: "erin" }));
  });
});

describe("the transactional outbox: a grant's effects are queued in the transaction that records it", () => {
  const queuedIn = (tag: string) => async (client: Parameters<typeof enqueueItem>[0]) => {
    await enqueueItem(client, { kind: "comment", dedupeKey: `tx-test:${tag}`, payload: { repository: "acme/access", pr: 1, body: tag } }, 60_000);
  };
  const item = async (tag: string) => (await f.stateSu.query("SELECT done FROM outbox WHERE dedupe_key = $1", [`tx-test:${tag}`])).rows;

  it("a committed grant has its item queued; a grant that fails after the GRANT (compensated) leaves no item and no membership", async () => {
    const ok = `apply-${++n}`;
    expect((await f.engine.grant({ ...f.input(ok, { dbUser: "fay" }), beforeCommit: queuedIn(ok) })).ok).toBe(true);
    expect(await item(ok)).toEqual([{ done: false }]);

    const bad = `apply-${++n}`;
    const { engine } = f.newEngine({ hooks: { afterGrant: () => { throw new Error("crash after GRANT"); } } });
    const d = await engine.grant({ ...f.input(bad, { dbUser: "gus" }), beforeCommit: queuedIn(bad) });
    expect(d.code).toBe("JIT_GRANT_FAILED");
    expect(await item(bad)).toEqual([]);
    expect((await f.appGranted()).filter((m) => m.member === "gus")).toEqual([]);
  });
});
