// Contract checks against GitHub's official OpenAPI descriptions (the committed subsets produced by
// scripts/extract-openapi.ts). Request bodies, response bodies and webhook payloads are validated
// with ajv; validators are compiled lazily and cached per operation/status/event.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import ajvFormats from "ajv-formats";
import restSubset from "./openapi/api.github.com.subset.json" with { type: "json" };
import webhookSubset from "./openapi/webhooks.subset.json" with { type: "json" };
import { OPERATIONS, type WebhookKey } from "./operations.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** OpenAPI 3.0 `nullable: true` → JSON Schema: add "null" to the type (and enum), or wrap in anyOf. */
function normalizeNullable(node: Json): Json {
  if (Array.isArray(node)) return node.map(normalizeNullable);
  if (node === null || typeof node !== "object") return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "enum" || k === "const" || k === "default" || k === "required" ? v : normalizeNullable(v);
  }
  if (out.nullable !== true) { delete out.nullable; return out; }
  delete out.nullable;
  if (typeof out.type === "string") {
    out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [{ type: "null" }, out] };
}

const escapePointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

export interface ContractViolation {
  kind: "request" | "response" | "webhook";
  /** operationId or webhook key */
  target: string;
  status?: number;
  message: string;
}

export function formatAjvErrors(errors: ErrorObject[] | null | undefined, limit = 8): string {
  if (!errors?.length) return "";
  return errors.slice(0, limit).map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`).join("; ");
}

export class ContractValidator {
  readonly #ajv: Ajv;
  readonly #cache = new Map<string, ValidateFunction | null>();
  readonly #rest: Obj;
  readonly #ops = new Map(OPERATIONS.map((o) => [o.id, o]));

  constructor() {
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true, allowUnionTypes: true });
    ajvFormats.default(this.#ajv);
    // GitHub-specific formats seen in the description.
    this.#ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
    this.#ajv.addFormat("timestamp", true);
    this.#rest = normalizeNullable(restSubset as unknown as Json) as Obj;
    this.#ajv.addSchema({ ...this.#rest, $id: "rest" });
    this.#ajv.addSchema({ ...(normalizeNullable(webhookSubset as unknown as Json) as Obj), $id: "webhooks" });
  }

  #compile(key: string, ref: string | null): ValidateFunction | null {
    if (this.#cache.has(key)) return this.#cache.get(key) ?? null;
    const fn = ref === null ? null : this.#ajv.compile({ $ref: ref });
    this.#cache.set(key, fn);
    return fn;
  }

  #operation(opId: string): Obj {
    const def = this.#ops.get(opId);
    if (!def) throw new Error(`operation ${opId} is not in the contract subset`);
    const paths = this.#rest.paths as Record<string, Obj>;
    return paths[def.path]?.[def.method.toLowerCase()] as Obj;
  }

  #base(opId: string): string {
    const def = this.#ops.get(opId)!;
    return `rest#/paths/${escapePointer(def.path)}/${def.method.toLowerCase()}`;
  }

  /** Validates a JSON request body. Returns an error message, or null when GitHub would accept it. */
  checkRequest(opId: string, body: unknown): string | null {
    const op = this.#operation(opId);
    const rb = op.requestBody as Obj | undefined;
    const content = (rb?.content as Obj | undefined)?.["application/json"] as Obj | undefined;
    if (!content?.schema) return null;
    if (body === undefined) return rb?.required === true ? "request body is required" : null;
    const fn = this.#compile(`req:${opId}`, `${this.#base(opId)}/requestBody/content/application~1json/schema`);
    return fn && !fn(body) ? formatAjvErrors(fn.errors) : null;
  }

  /**
   * Validates a response. A 2xx status that the description does not document is a violation;
   * an undocumented error status must at least look like GitHub's basic error.
   */
  checkResponse(opId: string, status: number, body: unknown): string | null {
    const op = this.#operation(opId);
    const responses = op.responses as Obj;
    let key: string | null = String(status) in responses ? String(status) : null;
    if (key === null && status >= 200 && status < 300) return `status ${status} is not documented for ${opId}`;
    let ref: string | null = null;
    if (key !== null) {
      let response = responses[key] as Obj;
      let base = `${this.#base(opId)}/responses/${key}`;
      if (typeof response.$ref === "string") {
        base = `rest${response.$ref}`;
        const name = response.$ref.split("/").pop()!;
        response = ((this.#rest.components as Obj).responses as Obj)[name] as Obj;
      }
      const content = response.content as Obj | undefined;
      const mediaType = content ? Object.keys(content).find((m) => m === "application/json") ?? Object.keys(content)[0] : undefined;
      if (!mediaType || !(content?.[mediaType] as Obj | undefined)?.schema) {
        // Success without a documented body must have none; an error may still carry GitHub's message.
        if (status < 400) return body !== undefined && body !== null && body !== "" ? `status ${status} of ${opId} has no body in the description` : null;
        key = null;
      } else {
        ref = `${base}/content/${escapePointer(mediaType)}/schema`;
        key = `res:${opId}:${key}`;
      }
    }
    if (key === null) {
      key = "res:basic-error";
      ref = "rest#/components/schemas/basic-error";
    }
    const fn = this.#compile(key, ref);
    if (fn && !fn(body)) return formatAjvErrors(fn.errors);
    if (key === "res:basic-error" && (typeof body !== "object" || body === null || typeof (body as Obj).message !== "string")) {
      return `error status ${status} without a message`;
    }
    return null;
  }

  /** Validates a webhook payload against the event's schema. */
  checkWebhook(key: WebhookKey, payload: unknown): string | null {
    const fn = this.#compile(`hook:${key}`, `webhooks#/webhooks/${key}/post/requestBody/content/application~1json/schema`);
    return fn && !fn(payload) ? formatAjvErrors(fn.errors) : null;
  }
}
