// Extracts the contract subset the GitHub simulator validates against: the REST operations it
// serves (test/sim/operations.ts) and the webhook events it sends, with every $ref they reach
// bundled under components. The full descriptions are ~100 MB, so they are installed into a temp
// dir at a pinned version and never added to package.json.
// Usage: node scripts/extract-openapi.ts
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { OPERATIONS, WEBHOOK_KEYS } from "../test/sim/operations.ts";

export const OPENAPI_VERSION = "23.0.2";
export const OPENAPI_WEBHOOKS_VERSION = "12.1.0";
const MAX_BYTES = 4 * 1024 * 1024;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

// Documentation-only keywords: dropped to keep the subset small. Property names are never touched.
const STRIP = new Set(["description", "summary", "example", "examples", "externalDocs", "tags", "x-github", "x-octokit"]);
const NAME_MAPS = new Set(["properties", "patternProperties", "responses", "content", "headers", "$defs"]);

function clean(node: Json, namesHere = false): Json {
  if (Array.isArray(node)) return node.map((n) => clean(n));
  if (node === null || typeof node !== "object") return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    if (!namesHere && STRIP.has(k)) continue;
    if (!namesHere && (k === "enum" || k === "const" || k === "default" || k === "required")) { out[k] = v; continue; }
    out[k] = clean(v, !namesHere && NAME_MAPS.has(k));
  }
  return out;
}

function collectRefs(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) { for (const n of node) collectRefs(n, into); return; }
  if (node === null || typeof node !== "object") return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string") into.add(v);
    else collectRefs(v, into);
  }
}

function pointer(doc: Obj, ref: string): Json {
  if (!ref.startsWith("#/")) throw new Error(`external $ref not supported: ${ref}`);
  let cur: Json = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !(key in cur)) throw new Error(`dangling $ref ${ref}`);
    cur = cur[key] as Json;
  }
  return cur;
}

/** Copies every component reachable from `roots` into a fresh components object. */
function bundle(doc: Obj, roots: Json): Obj {
  const components: Record<string, Obj> = {};
  const seen = new Set<string>();
  const queue = new Set<string>();
  collectRefs(roots, queue);
  while (queue.size > 0) {
    const ref = queue.values().next().value as string;
    queue.delete(ref);
    if (seen.has(ref)) continue;
    seen.add(ref);
    const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
    if (!m) throw new Error(`unexpected $ref shape ${ref}`);
    const [, section, name] = m as unknown as [string, string, string];
    const value = clean(pointer(doc, ref));
    (components[section] ??= {})[name] = value;
    const next = new Set<string>();
    collectRefs(value, next);
    for (const r of next) if (!seen.has(r)) queue.add(r);
  }
  for (const section of Object.keys(components)) {
    const entries = Object.entries(components[section] as Obj).sort(([a], [b]) => a.localeCompare(b));
    components[section] = Object.fromEntries(entries);
  }
  return components;
}

function extractRest(doc: Obj): Obj {
  const paths: Record<string, Obj> = {};
  const docPaths = doc.paths as Record<string, Obj>;
  for (const op of OPERATIONS) {
    const item = docPaths[op.path];
    const operation = item?.[op.method.toLowerCase()] as Obj | undefined;
    if (!operation) throw new Error(`${op.method} ${op.path} not in the description`);
    if (operation.operationId !== op.id) throw new Error(`${op.method} ${op.path} is ${String(operation.operationId)}, expected ${op.id}`);
    const cleaned = clean(operation) as Obj;
    if (item?.parameters) cleaned.parameters = [...((clean(item.parameters) as Json[]) ?? []), ...((cleaned.parameters as Json[]) ?? [])];
    (paths[op.path] ??= {})[op.method.toLowerCase()] = cleaned;
  }
  return {
    openapi: doc.openapi as string,
    info: { title: "api.github.com (subset served by the jit-access simulator)", version: `@octokit/openapi@${OPENAPI_VERSION}` },
    paths,
    components: bundle(doc, paths),
  };
}

function extractWebhooks(doc: Obj): Obj {
  const webhooks: Record<string, Json> = {};
  const all = doc.webhooks as Record<string, Obj>;
  for (const key of WEBHOOK_KEYS) {
    const hook = all[key];
    if (!hook) throw new Error(`webhook ${key} not in the description`);
    webhooks[key] = clean(hook);
  }
  return {
    openapi: doc.openapi as string,
    info: { title: "GitHub webhooks (subset sent by the jit-access simulator)", version: `@octokit/openapi-webhooks@${OPENAPI_WEBHOOKS_VERSION}` },
    webhooks,
    components: bundle(doc, webhooks),
  };
}

function main(): void {
  const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "sim", "openapi");
  const tmp = mkdtempSync(join(tmpdir(), "jit-openapi-"));
  try {
    execFileSync("npm", ["install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund", "--ignore-scripts",
      `@octokit/openapi@${OPENAPI_VERSION}`, `@octokit/openapi-webhooks@${OPENAPI_WEBHOOKS_VERSION}`], { stdio: "inherit" });
    const read = (p: string) => JSON.parse(readFileSync(join(tmp, "node_modules", "@octokit", p), "utf8")) as Obj;
    const outputs: [string, Obj][] = [
      ["api.github.com.subset.json", extractRest(read("openapi/generated/api.github.com.json"))],
      ["webhooks.subset.json", extractWebhooks(read("openapi-webhooks/generated/api.github.com.json"))],
    ];
    for (const [name, doc] of outputs) {
      const file = join(outDir, name);
      writeFileSync(file, JSON.stringify(doc, null, 1) + "\n");
      const size = statSync(file).size;
      if (size > MAX_BYTES) throw new Error(`${name} is ${size} bytes, over the ${MAX_BYTES} byte budget`);
      console.log(`wrote ${file} (${(size / 1024).toFixed(0)} KiB)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
