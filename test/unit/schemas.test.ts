// The published schemas are documentation too (editor completion): every property explains
// itself and shows examples, and the examples are themselves valid.
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import policySchema from "../../schemas/policy.schema.json" with { type: "json" };
import requestSchema from "../../schemas/access-request.schema.json" with { type: "json" };

type Node = Record<string, unknown>;

/** Every subschema reached through properties / patternProperties / items / $defs, with its path. */
function subschemas(node: Node, path = "#"): [string, Node][] {
  const out: [string, Node][] = [];
  for (const key of ["properties", "patternProperties", "$defs"]) {
    for (const [k, v] of Object.entries((node[key] ?? {}) as Record<string, Node>)) {
      out.push([`${path}/${key}/${k}`, v], ...subschemas(v, `${path}/${key}/${k}`));
    }
  }
  if (node.items && typeof node.items === "object") out.push([`${path}/items`, node.items as Node], ...subschemas(node.items as Node, `${path}/items`));
  return out;
}

describe.each([["access-request", requestSchema], ["policy", policySchema]] as const)("schemas/%s.schema.json", (_name, schema) => {
  it("has a description and examples on every property, and no open objects", () => {
    for (const [path, s] of subschemas(schema as Node)) {
      if (s.$ref) continue; // described at the definition
      expect(typeof s.description, path).toBe("string");
      expect(Array.isArray(s.examples) && s.examples.length > 0, path).toBe(true);
      if (s.type === "object") expect(s.additionalProperties, path).toBe(false);
    }
    expect((schema as Node).additionalProperties).toBe(false);
  });

  it("its examples validate against it", () => {
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    for (const example of (schema as Node).examples as unknown[]) expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
  });
});
