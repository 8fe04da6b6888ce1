// The webhook route: verify, store, acknowledge — nothing else runs inside the HTTP request (I17),
// so the answer does not wait for GitHub, a target database or a lock. Bodies over GitHub's 25 MB
// are refused from Content-Length before a byte is read, and a chunked body is cut off as soon as
// it passes the cap (Probot's middleware reads any body whole before checking its signature). The
// signature is an HMAC-SHA256 of the raw bytes, compared in constant time; sha1-only is refused.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NewDelivery } from "../db/deliveries.ts";
import type { UseCaseLogger } from "../usecases/context.ts";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;
/** How long a sender cut off mid-body has to read the 413 before its connection is closed. */
const CUT_OFF_GRACE_MS = 5000;

export interface ReceiverOptions {
  secret: string;
  /** Stores the delivery durably; resolves true when new, false when this id was stored before. */
  enqueue(d: NewDelivery): Promise<boolean>;
  log: UseCaseLogger;
  maxBytes?: number;
}

function answer(res: ServerResponse, status: number, body: object, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json", ...(close ? { connection: "close" } : {}) });
  res.end(JSON.stringify(body));
}

export function signatureMatches(secret: string, body: Buffer, header: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, "hex"));
}

/** Which deliveries must run one after another: those of one pull request, else of one repository. */
export function orderingKey(event: string, payload: Record<string, unknown>): { repository: string | null; key: string } {
  const repository = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  const repo = typeof repository === "string" ? repository : null;
  const pr = (payload.pull_request as { number?: unknown } | undefined)?.number;
  if (repo && typeof pr === "number") return { repository: repo, key: `${repo}#${pr}` };
  if (repo) return { repository: repo, key: repo };
  const installation = (payload.installation as { id?: unknown } | undefined)?.id;
  return { repository: null, key: `${event}:${typeof installation === "number" ? installation : "-"}` };
}

export function webhookReceiver(o: ReceiverOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const max = o.maxBytes ?? MAX_WEBHOOK_BYTES;
  return (req, res) => {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      answer(res, 405, { error: "method not allowed" });
      return;
    }
    const length = req.headers["content-length"];
    if (length !== undefined && !(/^[0-9]{1,15}$/.test(length) && Number(length) <= max)) {
      o.log.warn({ code: "JIT_WEBHOOK_TOO_LARGE", contentLength: length.slice(0, 20) }, "webhook refused before reading: body over the size cap");
      answer(res, 413, { error: "payload too large", code: "JIT_WEBHOOK_TOO_LARGE" }, true);
      return;
    }
    const event = req.headers["x-github-event"];
    const id = req.headers["x-github-delivery"];
    const signature = req.headers["x-hub-signature-256"];
    if (typeof event !== "string" || !/^[a-z_]{1,64}$/.test(event) || typeof id !== "string" || !/^[A-Za-z0-9-]{1,100}$/.test(id)) {
      answer(res, 400, { error: "missing or malformed X-GitHub-Event or X-GitHub-Delivery" }, true);
      return;
    }
    if (typeof signature !== "string") {
      o.log.warn({ code: "JIT_WEBHOOK_SIGNATURE", delivery: id }, "webhook refused: no X-Hub-Signature-256");
      answer(res, 400, { error: "X-Hub-Signature-256 is required", code: "JIT_WEBHOOK_SIGNATURE" }, true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        // Stop reading now: nothing more is buffered and the socket is paused, so TCP flow control
        // stops the sender. The connection is closed when the sender gives up, or after a grace
        // period; closing at once would reset it and the sender might never see the 413.
        over = true;
        chunks.length = 0;
        req.pause();
        o.log.warn({ code: "JIT_WEBHOOK_TOO_LARGE", delivery: id }, "webhook cut off: body passed the size cap");
        const socket = req.socket;
        const grace = setTimeout(() => socket.destroy(), CUT_OFF_GRACE_MS);
        grace.unref();
        socket.once("close", () => clearTimeout(grace));
        answer(res, 413, { error: "payload too large", code: "JIT_WEBHOOK_TOO_LARGE" });
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      if (over) return;
      const body = Buffer.concat(chunks, size);
      if (!signatureMatches(o.secret, body, signature)) {
        o.log.warn({ code: "JIT_WEBHOOK_SIGNATURE", delivery: id }, "webhook refused: signature does not match");
        answer(res, 401, { error: "signature does not match", code: "JIT_WEBHOOK_SIGNATURE" });
        return;
      }
      let payload: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(body.toString("utf8"));
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
        payload = parsed as Record<string, unknown>;
      } catch {
        answer(res, 400, { error: "the body is not a JSON object" });
        return;
      }
      const action = typeof payload.action === "string" ? payload.action : null;
      const { repository, key } = orderingKey(event, payload);
      o.enqueue({ id, event, action, payload, repository, orderingKey: key }).then(
        (fresh) => {
          if (!fresh) o.log.info({ delivery: id, event }, "delivery already stored; nothing queued");
          answer(res, 202, { accepted: true, delivery: id });
        },
        (e: unknown) => {
          // Not stored: say so, so GitHub's delivery log shows a failure an operator can redeliver.
          o.log.error({ delivery: id, event, error: (e as { code?: string }).code ?? "store failed" }, "could not store the delivery");
          answer(res, 503, { error: "the delivery could not be stored" });
        });
    });
  };
}
