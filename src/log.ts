// The one logger: pino JSON lines on stdout (LOG_FORMAT=pretty for humans), handed to Probot as its
// `log` so Probot, its Octokit and the app write through the same serializers. Probot on its own
// would log whole webhook payloads (`{ event }` at debug, errors carrying `.event`, `.request` and
// `.response`) and Octokit request bodies; here an error keeps only its type, message, code, status
// and stack, an event only its id and name, and request bodies are dropped. Secrets are never
// passed to a log call in the first place.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/** Keys whose values are bodies (webhook payloads, HTTP requests and responses): never written. */
const BODY_KEYS = ["payload", "body", "request", "response", "headers", "data"];

type ErrorLike = Error & { code?: unknown; status?: unknown; errors?: unknown; cause?: unknown };

function safeError(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error)) return typeof e === "object" && e !== null ? { message: String((e as { message?: unknown }).message ?? "") } : e;
  const err = e as ErrorLike;
  const out: Record<string, unknown> = { type: err.constructor?.name ?? "Error", message: err.message };
  if (typeof err.code === "string" || typeof err.code === "number") out.code = err.code;
  if (typeof err.status === "number") out.status = err.status;
  if (err.stack) out.stack = err.stack;
  if (depth < 2 && Array.isArray(err.errors)) out.errors = err.errors.slice(0, 10).map((x) => safeError(x, depth + 1));
  if (depth < 2 && err.cause !== undefined) out.cause = safeError(err.cause, depth + 1);
  return out;
}

/** The app logs an event's name (a string); Probot logs the whole event object, payload included. */
function safeEvent(e: unknown): unknown {
  if (typeof e !== "object" || e === null) return e;
  const { id, name } = e as { id?: unknown; name?: unknown };
  return { id, name };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    name: "jit-access",
    serializers: { err: safeError, error: safeError, event: safeEvent },
    redact: { paths: [...BODY_KEYS, ...BODY_KEYS.map((k) => `*.${k}`)], remove: true },
    hooks: {
      logMethod(args, method) {
        // Probot's Octokit logs each request's body as the fields of "GitHub request: …" lines.
        if (typeof args[1] === "string" && args[1].startsWith("GitHub request:") && typeof args[0] === "object") {
          method.apply(this, [args[1]]);
          return;
        }
        method.apply(this, args);
      },
    },
  };
}

/**
 * The process logger. `format` is LOG_FORMAT: "pretty" prints for humans (pino-pretty), anything
 * else JSON lines. `destination` is for tests; by default stdout.
 */
export function createLogger(o: { level: string; format?: string | undefined; destination?: DestinationStream }): Logger {
  const options = loggerOptions(o.level);
  if (o.destination) return pino(options, o.destination);
  if (o.format === "pretty") return pino({ ...options, transport: { target: "pino-pretty", options: { destination: 1 } } });
  return pino(options);
}
