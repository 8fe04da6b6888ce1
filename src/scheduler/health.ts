// Health of expiry: when a sweep last succeeded (any replica or `jit expire`), how many grants are
// past their expiry, and the outbox backlog. Every age is computed by the state database's clock.
// Served as JSON by GET /health (200 ok, 503 degraded: meant for monitoring, not as a liveness probe
// that would restart the app) and turned into alerts: JIT_SWEEP_STALE and JIT_REVOKE_OVERDUE.
import { revokeOverdueAlert, sweepStaleAlert } from "../core/messages.ts";
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type pg from "pg";
import type { JitCode } from "../core/codes.ts";
import { formatDuration } from "../core/duration.ts";
import type { Alerter } from "./alerter.ts";
import { healthFacts, repositoriesWithActiveGrants } from "../db/health.ts";
import { outboxBacklog } from "../db/outbox.ts";
import { queueStats, type QueueStats } from "../db/deliveries.ts";

export interface HealthOptions {
  staleAfterMs: number;
  overdueAfterMs: number;
  /** Whether this process holds the sweeper lock (null: not a scheduler process). */
  leader?: () => boolean | null;
  /** The app clock, only to report its skew against the database. */
  appNow?: () => number;
  /** How long this process has run (ms); "no sweep ever" is not stale before staleAfterMs of uptime. */
  uptimeMs?: () => number;
}

export interface OverdueGrant {
  ledgerId: number;
  repository: string;
  database: string;
  requestId: string;
  expiresAt: string;
  overdueMs: number;
}

export interface Health {
  status: "ok" | "degraded";
  problems: { code: JitCode; message: string }[];
  databaseTime: string;
  /** app clock minus database clock, ms (informative: expiry never uses the app clock). */
  appClockSkewMs: number | null;
  lastSweep: { at: string | null; ageMs: number | null; sweeper: string | null };
  sweepers: { sweeper: string; lastSuccessAt: string | null; lastFailureAt: string | null; lastError: string | null }[];
  overdue: { count: number; oldestMs: number | null; beyondThreshold: OverdueGrant[] };
  outbox: { pending: number; oldestMs: number | null };
  /** Webhook deliveries waiting or running, the oldest one's age, and dead letters (src/queue/). */
  queue: QueueStats;
  leader: boolean | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export async function readHealth(state: Pick<pg.Pool, "query">, opts: HealthOptions): Promise<Health> {
  const facts = await healthFacts(state, opts.overdueAfterMs);
  const { now, sweeps, due, late } = facts;
  const outbox = await outboxBacklog(state);
  const queue = await queueStats(state);

  const best = sweeps.find((s) => s.lastSuccessAt) ?? null;
  const ageMs = best?.ageMs ?? null;
  const problems: Health["problems"] = [];
  if (ageMs === null) {
    if ((opts.uptimeMs?.() ?? Infinity) >= opts.staleAfterMs) problems.push({ code: "JIT_SWEEP_STALE", message: "no sweep has ever succeeded" });
  } else if (ageMs > opts.staleAfterMs) {
    problems.push({ code: "JIT_SWEEP_STALE", message: `no sweep succeeded for ${formatDuration(Math.round(ageMs / 1000) * 1000)}` });
  }
  if (late.length) problems.push({ code: "JIT_REVOKE_OVERDUE", message: `${late.length} grant(s) past expiry by more than ${formatDuration(opts.overdueAfterMs)}` });
  if (queue.dead) problems.push({ code: "JIT_DELIVERY_DEAD", message: `${queue.dead} webhook deliveries failed every attempt (jit deliveries list --dead)` });

  return {
    status: problems.length ? "degraded" : "ok",
    problems,
    databaseTime: now.toISOString(),
    appClockSkewMs: opts.appNow ? opts.appNow() - now.getTime() : null,
    lastSweep: { at: iso(best?.lastSuccessAt ?? null), ageMs, sweeper: best?.sweeper ?? null },
    sweepers: sweeps.map((s) => ({ sweeper: s.sweeper, lastSuccessAt: iso(s.lastSuccessAt), lastFailureAt: iso(s.lastFailureAt), lastError: s.lastError })),
    overdue: {
      count: due.count,
      oldestMs: due.oldestMs,
      beyondThreshold: late.map((r) => ({
        ledgerId: r.id, repository: r.repository, database: r.database, requestId: r.requestId, expiresAt: r.expiresAt.toISOString(), overdueMs: r.overdueMs,
      })),
    },
    outbox,
    queue,
    leader: opts.leader?.() ?? null,
  };
}

/** Raises JIT_SWEEP_STALE (once per stall) and JIT_REVOKE_OVERDUE (once per grant). */
export async function alertOnHealth(h: Health, state: Pick<pg.Pool, "query">, alerter: Alerter): Promise<void> {
  if (h.problems.some((p) => p.code === "JIT_SWEEP_STALE")) {
    // File it where access is at stake: the repositories with active grants.
    const repositories = await repositoriesWithActiveGrants(state);
    const message = h.problems.find((p) => p.code === "JIT_SWEEP_STALE")!.message;
    const alert = sweepStaleAlert({ lastSweepAt: h.lastSweep.at, databaseTime: h.databaseTime, message });
    if (repositories.length === 0) await alerter.alert(null, alert);
    for (const r of repositories) await alerter.alert(r, alert);
  }
  for (const g of h.overdue.beyondThreshold) {
    await alerter.alert(g.repository, revokeOverdueAlert({
      ledgerId: g.ledgerId, database: g.database, requestId: g.requestId, expiresAt: g.expiresAt, overdueFor: formatDuration(Math.round(g.overdueMs / 1000) * 1000),
    }));
  }
}

/** GET /health → JSON. Mount it on the app's HTTP server. */
export function healthHandler(state: Pick<pg.Pool, "query">, opts: HealthOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" }).end(JSON.stringify({ error: "method not allowed" }));
      return;
    }
    readHealth(state, opts).then(
      (h) => {
        const body = JSON.stringify(h);
        res.writeHead(h.status === "ok" ? 200 : 503, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (e: unknown) => {
        // The state database is unreachable: that is the unhealthiest state there is. No details (they could name hosts).
        res.writeHead(503, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify({ status: "degraded", problems: [{ code: "JIT_DB_UNREACHABLE", message: "the state database could not be queried" }], error: (e as { code?: string }).code ?? null }));
      });
  };
}

/** A database a known policy names whose connection variable this process does not have. */
export interface UnconfiguredTarget { database: string; env: string }

export interface HealthEndpointOptions {
  read: () => Promise<Health>;
  /** The policies' targets without a connection variable (grants to them fail until it is set). */
  unconfiguredTargets?: () => Promise<UnconfiguredTarget[]>;
  /** JIT_HEALTH_TOKEN: a caller sending `Authorization: Bearer <token>` sees the details from anywhere. */
  token?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Details (queue, dead letters, grants overdue, repositories, target names) only for the machine
 * itself or a caller with the token. A request carrying proxy headers came through a proxy on
 * loopback for someone else: it counts as remote.
 */
export function healthDetailsAllowed(req: Pick<IncomingMessage, "headers" | "socket">, token?: string): boolean {
  const auth = req.headers.authorization;
  if (token && typeof auth === "string") {
    const given = Buffer.from(auth);
    const expected = Buffer.from(`Bearer ${token}`);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  if (req.headers.forwarded !== undefined || req.headers["x-forwarded-for"] !== undefined || req.headers["x-real-ip"] !== undefined) return false;
  return LOOPBACK.test(req.socket.remoteAddress ?? "");
}

/**
 * GET /health of the server: 200 ok or 503 degraded for everyone; the body is `{status}` alone
 * unless healthDetailsAllowed. A target without its connection variable degrades the status
 * (JIT_CONFIG_MISSING_ENV): its grants would fail.
 */
export function healthEndpoint(o: HealthEndpointOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" }).end(JSON.stringify({ error: "method not allowed" }));
      return;
    }
    const details = healthDetailsAllowed(req, o.token);
    const send = (status: number, body: Record<string, unknown>) => {
      res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : JSON.stringify(details ? body : { status: body.status }));
    };
    Promise.all([o.read(), o.unconfiguredTargets?.().catch(() => []) ?? Promise.resolve([])]).then(
      ([h, unconfigured]) => {
        const problems = [...h.problems];
        if (unconfigured.length) {
          problems.push({ code: "JIT_CONFIG_MISSING_ENV", message: `${unconfigured.length} target database(s) named in policies have no connection variable: ${unconfigured.map((t) => `${t.database} (${t.env})`).join(", ")}` });
        }
        const status = problems.length ? "degraded" : "ok";
        send(status === "ok" ? 200 : 503, { ...h, status, problems, unconfiguredTargets: unconfigured });
      },
      (e: unknown) => {
        // The state database is unreachable: the unhealthiest state there is. No details (they could name hosts).
        send(503, { status: "degraded", problems: [{ code: "JIT_DB_UNREACHABLE", message: "the state database could not be queried" }], error: (e as { code?: string }).code ?? null });
      });
  };
}
