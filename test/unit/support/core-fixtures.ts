// Shared inputs for the core unit tests: the test policy and small helpers around the parsers.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parsePolicies } from "../../../src/core/policy.ts";
import type { Decision } from "../../../src/core/problem.ts";
import { parseRequest } from "../../../src/core/request.ts";
import type { AccessRequest, Policy } from "../../../src/core/types.ts";

export const POLICY_FIXTURE = fileURLToPath(new URL("../../fixtures/policies/orders.yaml", import.meta.url));
export const LONG_ROLE = "orders_readonly_with_a_name_exactly_sixty_three_bytes_long_xxxy";

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function testPolicy(): Policy {
  const d = parsePolicies([{ path: "policies/orders.yaml", bytes: readFileSync(POLICY_FIXTURE) }]);
  if (!d.ok || !d.details) throw new Error(`test policy invalid: ${JSON.stringify(d.problems)}`);
  return d.details;
}

export const REQUEST_PATH = "access-requests/orders-prod/alice-inc-1234.yaml";

export function request(yaml: string, path = REQUEST_PATH): Decision<AccessRequest | null> {
  return parseRequest(path, utf8(yaml));
}

/** A request that must parse; throws with the problems otherwise. */
export function validRequest(yaml: string, path = REQUEST_PATH): AccessRequest {
  const d = request(yaml, path);
  if (!d.ok || !d.details) throw new Error(`expected a valid request: ${JSON.stringify(d.problems)}`);
  return d.details;
}

export function codes(d: { problems: { code: string }[] }): string[] {
  return d.problems.map((p) => p.code);
}

export const GOOD = "role: orders_readonly\nduration: 2h\nreason: Investigate INC-1234\nticket: INC-1234\n";
