// Fault injection per route (status, 429 with rate-limit headers, latency, response mutation),
// the request log, and GitHub's primary rate limit accounting.

export interface FaultSpec {
  /** operationId ("pulls/get") or "METHOD /template" ("GET /repos/{owner}/{repo}/pulls/{pull_number}") */
  route: string;
  /** answer with this status instead of running the handler (5xx, 429, 403 …) */
  status?: number;
  /** delay before answering (with or without a status) */
  latencyMs?: number;
  /** how many matching requests this fault applies to (default 1; Infinity for all) */
  count?: number;
  /** run before the handler (after the request is read): a test's way to make something happen in between, e.g. a push racing a merge */
  beforeHandler?: () => Promise<void>;
  /** mutate the handler's response body before the contract check (to prove the check bites) */
  mutateResponse?: (body: Record<string, unknown>) => void;
}

export interface Fault extends FaultSpec { remaining: number; hits: number; clear(): void }

export interface RequestLogEntry {
  method: string;
  /** OpenAPI path template, e.g. /repos/{owner}/{repo}/pulls/{pull_number} */
  route: string;
  operationId: string | null;
  path: string;
  status: number;
  ms: number;
  /** "app" (JWT), the installation bot login, a user login, or "" when unauthenticated */
  actor: string;
  faulted: boolean;
  /** when the request arrived and when the answer was sent: ms since the epoch, sub-millisecond */
  startedAt: number;
  at: number;
}

export class Faults {
  readonly #faults: Fault[] = [];
  /** Added to every request before it is answered (a GitHub far away): bench:latency, round-trip tests. */
  latencyMs = 0;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, remaining: spec.count ?? 1, hits: 0, clear: () => { const i = this.#faults.indexOf(fault); if (i !== -1) this.#faults.splice(i, 1); } };
    this.#faults.push(fault);
    return fault;
  }

  clear(): void { this.#faults.length = 0; }

  /** The first live fault for this operation, consumed by one. */
  take(opId: string, method: string, template: string): Fault | undefined {
    const f = this.#faults.find((x) => x.remaining > 0 && (x.route === opId || x.route === `${method} ${template}`));
    if (!f) return undefined;
    f.remaining -= 1;
    f.hits += 1;
    if (f.remaining <= 0) f.clear();
    return f;
  }
}

/** Primary rate limit per credential, reset hourly, with GitHub's x-ratelimit-* headers. */
export class RateLimits {
  readonly #buckets = new Map<string, { used: number; reset: number }>();
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  consume(key: string): { headers: Record<string, string>; exceeded: boolean } {
    const now = Math.floor(Date.now() / 1000);
    let b = this.#buckets.get(key);
    if (!b || b.reset <= now) { b = { used: 0, reset: now + 3600 }; this.#buckets.set(key, b); }
    const exceeded = b.used >= this.limit;
    if (!exceeded) b.used += 1;
    return { exceeded, headers: this.headers(b.used, b.reset) };
  }

  headers(used: number, reset: number): Record<string, string> {
    return {
      "x-ratelimit-limit": String(this.limit), "x-ratelimit-remaining": String(Math.max(this.limit - used, 0)),
      "x-ratelimit-reset": String(reset), "x-ratelimit-used": String(used), "x-ratelimit-resource": "core",
    };
  }
}

/**
 * Sequential round trips of a set of API calls: the length of the longest chain of calls each of
 * which started only after the previous one was answered (calls that overlap in time were in
 * flight together). With a per-call latency (setLatency) this is what dominates wall time.
 */
export function roundTrips(entries: readonly Pick<RequestLogEntry, "startedAt" | "at">[]): number {
  const sorted = [...entries].sort((a, b) => a.startedAt - b.startedAt);
  const depth: number[] = [];
  sorted.forEach((e, i) => {
    let d = 1;
    for (let j = 0; j < i; j++) if (sorted[j]!.at <= e.startedAt) d = Math.max(d, depth[j]! + 1);
    depth.push(d);
  });
  return Math.max(0, ...depth);
}
