// Webhook deliveries as GitHub sends them: JSON POSTs signed with X-Hub-Signature-256 (and the
// legacy sha1 header), a unique X-GitHub-Delivery GUID, GitHub-Hookshot user agent. Payloads are
// validated against the official webhook schemas before they leave. Deliveries are recorded so a
// test can assert on them, drop one, or redeliver one (same GUID, as GitHub's redelivery does).
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { WEBHOOK_KEYS, type WebhookKey } from "./operations.ts";

export interface Delivery {
  /** X-GitHub-Delivery GUID (a redelivery reuses it) */
  guid: string;
  /** sequence number of this attempt */
  seq: number;
  event: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  redelivery: boolean;
  dropped: boolean;
  /** sent by sendForged (signature tests), outside the normal flow */
  forged: boolean;
  target: string | null;
  /** HTTP status the app answered, null when not sent (dropped, no target, network error) */
  status: number | null;
  responseBody: string | null;
  error: string | null;
  ms: number | null;
  /** when the POST started: ms since the epoch, sub-millisecond; null when not sent */
  sentAt: number | null;
}

export interface DeliveryFilter { event?: string; action?: string; predicate?: (d: Delivery) => boolean }

export type SignatureMode = "valid" | "bad" | "missing" | "sha1-only" | { secret: string };

export interface WebhookOptions {
  secret: string;
  hookId: number;
  appId: number;
  /** "serial" (default) sends one delivery at a time in order; "concurrent" sends each at once. */
  mode: "serial" | "concurrent";
  validate: (key: WebhookKey, payload: unknown) => string | null;
  onViolation: (target: string, message: string) => void;
}

const matches = (f: DeliveryFilter, d: Delivery) =>
  (f.event === undefined || f.event === d.event) && (f.action === undefined || f.action === d.action) && (f.predicate === undefined || f.predicate(d));

export class WebhookDispatcher {
  readonly deliveries: Delivery[] = [];
  targets: string[] = [];
  #rr = 0;
  #seq = 0;
  #tail: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #drops: DeliveryFilter[] = [];
  readonly #hookshot = `GitHub-Hookshot/${randomBytes(4).toString("hex").slice(0, 7)}`;

  private readonly opts: WebhookOptions;

  constructor(opts: WebhookOptions) {
    this.opts = opts;
  }

  /** Records and sends an event. The payload is checked against the webhook schema first. */
  emit(event: string, payload: Record<string, unknown>): Delivery {
    const action = typeof payload.action === "string" ? payload.action : undefined;
    const key = `${event.replace(/_/g, "-")}${action ? `-${action}` : ""}`;
    if ((WEBHOOK_KEYS as readonly string[]).includes(key)) {
      const problem = this.opts.validate(key as WebhookKey, payload);
      if (problem) this.opts.onViolation(key, problem);
    } else {
      this.opts.onViolation(key, `webhook ${key} is not in the contract subset`);
    }
    const d: Delivery = { guid: randomUUID(), seq: ++this.#seq, event, action, payload, redelivery: false, dropped: false, forged: false, target: null, status: null, responseBody: null, error: null, ms: null, sentAt: null };
    const dropAt = this.#drops.findIndex((f) => matches(f, d));
    if (dropAt !== -1) { this.#drops.splice(dropAt, 1); d.dropped = true; }
    this.deliveries.push(d);
    if (!d.dropped) this.#schedule(d);
    return d;
  }

  /** Drops (records but does not send) the next delivery matching the filter. */
  dropNext(filter: DeliveryFilter): void { this.#drops.push(filter); }

  /** Sends a recorded delivery again with the same GUID and body. */
  redeliver(guid: string): Delivery {
    const orig = this.deliveries.find((d) => d.guid === guid);
    if (!orig) throw new Error(`no delivery ${guid}`);
    const d: Delivery = { ...orig, seq: ++this.#seq, redelivery: true, dropped: false, forged: false, target: null, status: null, responseBody: null, error: null, ms: null, sentAt: null };
    this.deliveries.push(d);
    this.#schedule(d);
    return d;
  }

  /** Resolves when no delivery is queued or in flight (including deliveries caused by handlers). */
  async waitForIdle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #schedule(d: Delivery): void {
    const run = this.opts.mode === "serial" ? (this.#tail = this.#tail.then(() => this.#send(d))) : this.#send(d);
    this.#inFlight.add(run);
    void run.finally(() => this.#inFlight.delete(run));
  }

  headers(d: Delivery, body: string, sign: SignatureMode = "valid"): Record<string, string> {
    const secret = typeof sign === "object" ? sign.secret : this.opts.secret;
    const h: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.#hookshot,
      "x-github-event": d.event,
      "x-github-delivery": d.guid,
      "x-github-hook-id": String(this.opts.hookId),
      "x-github-hook-installation-target-id": String(this.opts.appId),
      "x-github-hook-installation-target-type": "integration",
    };
    const sha1 = `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`;
    const sha256 = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    if (sign === "valid" || typeof sign === "object") { h["x-hub-signature"] = sha1; h["x-hub-signature-256"] = sha256; }
    else if (sign === "bad") { h["x-hub-signature"] = sha1; h["x-hub-signature-256"] = `sha256=${createHmac("sha256", "not-the-secret").update(body).digest("hex")}`; }
    else if (sign === "sha1-only") h["x-hub-signature"] = sha1;
    return h;
  }

  async #send(d: Delivery, sign: SignatureMode = "valid", target?: string): Promise<void> {
    if (!target && this.targets.length === 0) { d.error = "no webhook URL configured"; return; }
    d.target = target ?? this.targets[this.#rr++ % this.targets.length]!;
    const body = JSON.stringify(d.payload);
    const started = performance.now();
    d.sentAt = performance.timeOrigin + started;
    try {
      const res = await fetch(d.target, { method: "POST", headers: this.headers(d, body, sign), body, signal: AbortSignal.timeout(60_000) });
      d.status = res.status;
      d.responseBody = await res.text();
    } catch (e) {
      d.error = (e as Error).message;
    } finally {
      d.ms = Math.round(performance.now() - started);
    }
  }

  /** Sends an event with a chosen signature mode, outside the normal queue (signature tests). */
  async sendForged(event: string, payload: Record<string, unknown>, sign: SignatureMode, target?: string): Promise<Delivery> {
    const d: Delivery = { guid: randomUUID(), seq: ++this.#seq, event, action: typeof payload.action === "string" ? payload.action : undefined, payload, redelivery: false, dropped: false, forged: true, target: null, status: null, responseBody: null, error: null, ms: null, sentAt: null };
    this.deliveries.push(d);
    await this.#send(d, sign, target ?? this.targets[0]);
    return d;
  }

  find(filter: DeliveryFilter = {}): Delivery[] { return this.deliveries.filter((d) => matches(filter, d)); }
}
