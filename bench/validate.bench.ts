// Benchmark (not a test): full request validation vs the cheapest sensible baseline.
//   ours:     parseRequest (size cap, fatal UTF-8, strict YAML with CST checks, ajv, identifier and
//             duration checks, positions) + evaluatePolicy
//   baseline: TextDecoder + yaml.parse + one compiled ajv validator of the same schema
// on the same 10 000 generated request files. Goal: ours within 2x of the baseline.
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import requestSchema from "../schemas/access-request.schema.json" with { type: "json" };
import { evaluatePolicy } from "../src/core/evaluate-policy.ts";
import { parsePolicies } from "../src/core/policy.ts";
import { parseRequest } from "../src/core/request.ts";

const FILES = 10_000;
const ROUNDS = 7;
const enc = new TextEncoder();

const policyYaml = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly: { max_duration: 8h, approvals: 1, approvers: ["@acme/dba"], requesters: ["@acme/engineering"], require_ticket: true }
      orders_admin: { max_duration: 1h, approvals: 2, approvers: ["@acme/dba"], requesters: ["@acme/dba"] }
  billing-prod:
    connection_env: BILLING_PROD_DATABASE_URL
    roles:
      billing_readonly: { max_duration: 1d, approvals: 1, approvers: ["@acme/dba", "carol"] }
identities:
${Array.from({ length: 50 }, (_, i) => `  user${i}: user_${i}`).join("\n")}
`;
const policyDecision = parsePolicies([{ path: "policies/bench.yaml", bytes: enc.encode(policyYaml) }]);
if (!policyDecision.ok || !policyDecision.details) throw new Error(`bench policy invalid: ${policyDecision.message}`);
const policy = policyDecision.details;

// Deterministic variety: roles, databases, durations, quoting styles, comments, optional fields,
// block scalars, and reasons of different lengths. Some admin requests ask for more than the
// policy's 1h on purpose, so the failure path (problems with positions) is measured too.
function generate(i: number): { path: string; bytes: Uint8Array } {
  const db = i % 3 === 0 ? "billing-prod" : "orders-prod";
  const role = db === "billing-prod" ? "billing_readonly" : i % 5 === 0 ? "orders_admin" : "orders_readonly";
  const duration = [`${(i % 8) + 1}h`, `${(i % 50) + 10}m`, "1h", "30m"][i % 4] as string;
  const words = "investigate duplicate orders after the deploy and check the refund backlog for finance".split(" ");
  const reason = Array.from({ length: 4 + (i % 12) }, (_, k) => words[(i + k) % words.length]).join(" ");
  const lines: string[] = [];
  if (i % 2 === 0) lines.push("# yaml-language-server: $schema=../../schemas/access-request.schema.json");
  lines.push(i % 7 === 0 ? `role: "${role}"` : `role: ${role}`);
  lines.push(i % 11 === 0 ? `duration: '${duration}'` : `duration: ${duration}   # counted from the grant`);
  lines.push(i % 13 === 0 ? `reason: >\n  ${reason}\n  (incident review)` : `reason: ${reason}`);
  if (role !== "orders_admin" || i % 2 === 0) lines.push(`ticket: INC-${1000 + i}`);
  if (i % 4 === 1) lines.push(`user: user_${i % 50}`);
  return { path: `access-requests/${db}/req-${i}.yaml`, bytes: enc.encode(lines.join("\n") + "\n") };
}

const files = Array.from({ length: FILES }, (_, i) => generate(i));
const teams = new Set(["@acme/engineering", "@acme/dba"]);

function ours(): number {
  let ok = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as { path: string; bytes: Uint8Array };
    const r = parseRequest(f.path, f.bytes);
    if (!r.details) continue;
    const user = r.details.user ?? `user_${i % 50}`;
    const e = evaluatePolicy({ request: r.details, policy, requester: `user${user.slice(5)}`, requesterTeams: teams });
    if (e.ok) ok++;
  }
  return ok;
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(requestSchema);
const decoder = new TextDecoder();
function baseline(): number {
  let ok = 0;
  for (const f of files) if (validate(parse(decoder.decode(f.bytes)))) ok++;
  return ok;
}

function time(fn: () => number): { ms: number; result: number } {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

// Warm up both (JIT, ajv/yaml caches), then alternate rounds so drift hits both alike.
ours();
baseline();
const oursMs: number[] = [];
const baseMs: number[] = [];
let oursOk = 0;
let baseOk = 0;
for (let r = 0; r < ROUNDS; r++) {
  const a = time(ours);
  const b = time(baseline);
  oursMs.push(a.ms);
  baseMs.push(b.ms);
  oursOk = a.result;
  baseOk = b.result;
}
const oursRate = FILES / (median(oursMs) / 1000);
const baseRate = FILES / (median(baseMs) / 1000);
console.log(`files: ${FILES}, rounds: ${ROUNDS} (median), node ${process.version}`);
console.log(`ours     (parseRequest + evaluatePolicy): ${Math.round(oursRate).toLocaleString("en-US")} files/s  (${oursOk} fully valid)`);
console.log(`baseline (yaml.parse + compiled ajv):     ${Math.round(baseRate).toLocaleString("en-US")} files/s  (${baseOk} schema-valid)`);
console.log(`ratio: ours takes ${(baseRate / oursRate).toFixed(2)}x the baseline's time (goal: <= 2x)`);
