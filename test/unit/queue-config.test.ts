// Queue settings, retry delays, webhook signatures and ordering keys (src/queue/): pure parts.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_QUEUE_CONFIG, loadQueueConfig, retryDelay } from "../../src/queue/config.ts";
import { orderingKey, signatureMatches } from "../../src/queue/receiver.ts";

describe("queue settings", () => {
  it("defaults: the lost-merge reconciler runs within 5 minutes", () => {
    const { config, problems } = loadQueueConfig({});
    expect(problems).toEqual([]);
    expect(config).toEqual(DEFAULT_QUEUE_CONFIG);
    expect(config.mergeReconcileMs).toBeGreaterThan(0);
    expect(config.mergeReconcileMs).toBeLessThanOrEqual(5 * 60_000);
  });

  it("reads every variable and names the bad ones, never their values", () => {
    const ok = loadQueueConfig({ JIT_QUEUE_CONCURRENCY: "8", JIT_QUEUE_POLL: "5s", JIT_QUEUE_LEASE: "2m", JIT_QUEUE_BACKOFF: "1s", JIT_QUEUE_MAX_ATTEMPTS: "3", JIT_RECONCILE_MERGES_EVERY: "0", JIT_RECONCILE_MERGES_LOOKBACK: "48h" });
    expect(ok.problems).toEqual([]);
    expect(ok.config).toMatchObject({ concurrency: 8, pollMs: 5000, leaseMs: 120_000, backoffMs: 1000, maxAttempts: 3, mergeReconcileMs: 0, mergeLookbackMs: 48 * 3_600_000 });
    const bad = loadQueueConfig({ JIT_QUEUE_CONCURRENCY: "0", JIT_QUEUE_POLL: "soon-secret", JIT_QUEUE_MAX_ATTEMPTS: "-1" });
    expect(bad.problems.map((p) => p.code)).toEqual(["JIT_CONFIG_INVALID", "JIT_CONFIG_INVALID", "JIT_CONFIG_INVALID"]);
    expect(bad.problems.map((p) => p.message).join(" ")).not.toContain("soon-secret");
  });

  it("retries back off exponentially up to the cap", () => {
    const c = { backoffMs: 1000, maxBackoffMs: 10_000 };
    expect([1, 2, 3, 4, 5, 50].map((a) => retryDelay(c, a))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });
});

describe("webhook signature", () => {
  const body = Buffer.from('{"action":"closed"}');
  const sign = (secret: string, b: Buffer) => `sha256=${createHmac("sha256", secret).update(b).digest("hex")}`;

  it("case 26: only an HMAC-SHA256 of the exact bytes with the secret matches", () => {
    expect(signatureMatches("s3cret", body, sign("s3cret", body))).toBe(true);
    expect(signatureMatches("s3cret", body, sign("development", body))).toBe(false);
    expect(signatureMatches("s3cret", Buffer.from('{"action": "closed"}'), sign("s3cret", body))).toBe(false);
    expect(signatureMatches("s3cret", body, sign("s3cret", body).toUpperCase())).toBe(false);
    expect(signatureMatches("s3cret", body, `sha1=${createHmac("sha1", "s3cret").update(body).digest("hex")}`)).toBe(false);
    expect(signatureMatches("s3cret", body, "sha256=")).toBe(false);
  });
});

describe("ordering keys", () => {
  it("one pull request, else one repository, else the installation", () => {
    expect(orderingKey("pull_request", { repository: { full_name: "acme/access" }, pull_request: { number: 4 } })).toEqual({ repository: "acme/access", key: "acme/access#4" });
    expect(orderingKey("push", { repository: { full_name: "acme/access" } })).toEqual({ repository: "acme/access", key: "acme/access" });
    expect(orderingKey("installation", { installation: { id: 9 } })).toEqual({ repository: null, key: "installation:9" });
    expect(orderingKey("installation", { repository: { full_name: 5 } })).toEqual({ repository: null, key: "installation:-" });
  });
});
