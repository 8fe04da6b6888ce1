// The one policy reader (src/core/policy-reader.ts) through its two I/O implementations: the GitHub
// trees/blobs API (the simulator) and a checkout on disk. The same policies/ must give the same
// answer both ways; only regular files (mode 100644) count (I2): before the readers were merged,
// the API path silently accepted a symbolic link's blob as a policy file.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_POLICY_FILES, readPolicies } from "../../src/core/policy-reader.ts";
import type { Decision } from "../../src/core/problem.ts";
import type { Policy } from "../../src/core/types.ts";
import { gitHubPolicyReader, policyAt } from "../../src/github/policy-at.ts";
import type { Octokit } from "../../src/github/octokit.ts";
import { diskPolicyReader, loadPolicies, localPolicies } from "../../src/policy-loader.ts";
import { GitHubSimulator } from "../sim/index.ts";
import { installationOctokit } from "../sim/test-helpers.ts";

const POLICY = `databases:
  orders-prod:
    connection_env: ORDERS_PROD_DATABASE_URL
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering"]
identities:
  alice: alice
`;
const OTHER = `databases:
  billing:
    connection_env: BILLING_DATABASE_URL
    roles:
      billing_readonly:
        max_duration: 1h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering"]
`;

type Entry = string | { content: string; mode: "100755" | "120000" };
type Layout = Record<string, Entry>;

let sim: GitHubSimulator;
let gh: Octokit;
const temps: string[] = [];
let n = 0;

beforeAll(async () => {
  sim = await GitHubSimulator.start();
  await sim.createRepo({ owner: "acme", name: "first", files: { "README.md": "x\n" } }); // creates the installation
  gh = (await installationOctokit(sim, "acme")) as unknown as Octokit;
});
afterAll(async () => {
  await sim?.close();
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** The same files as a repository in the simulator and as a checkout on disk. */
async function both(files: Layout): Promise<{ api: Decision<Policy | null> | null; disk: Decision<Policy | null> | null; ref: { owner: string; repo: string }; sha: string; dir: string }> {
  const name = `access-${++n}`;
  const repo = await sim.createRepo({ owner: "acme", name, files: { "README.md": "# access\n", ...files } });
  const sha = (await repo.branchSha("main"))!;
  const dir = mkdtempSync(join(tmpdir(), "jit-policies-"));
  temps.push(dir);
  for (const [path, e] of Object.entries(files)) {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof e === "string") writeFileSync(abs, e);
    else if (e.mode === "120000") symlinkSync(e.content, abs);
    else {
      writeFileSync(abs, e.content);
      chmodSync(abs, 0o755);
    }
  }
  const ref = { owner: "acme", repo: name };
  return { api: await readPolicies(gitHubPolicyReader(gh, ref, sha)), disk: await readPolicies(diskPolicyReader(dir)), ref, sha, dir };
}

const codes = (d: Decision<unknown> | null) => d?.problems.map((p) => p.code) ?? null;

describe("one policy reader, a GitHub and a disk implementation", () => {
  it("regular policy files give the same policy through the API and on disk", async () => {
    const r = await both({ "policies/orders.yaml": POLICY, "policies/billing.yaml": OTHER, "policies/README.md": "not a policy\n" });
    expect(r.api?.ok).toBe(true);
    expect(r.disk?.ok).toBe(true);
    expect(Object.keys(r.api!.details!.databases).sort()).toEqual(["billing", "orders-prod"]);
    expect(JSON.stringify(r.api!.details)).toBe(JSON.stringify(r.disk!.details));
    expect((await policyAt(gh, r.ref, r.sha)).details?.databases["orders-prod"]?.connectionEnv).toBe("ORDERS_PROD_DATABASE_URL");
  });

  it("I2: a policy file that is a symbolic link counts neither through the API nor on disk (JIT_POLICY_INVALID, no policy)", async () => {
    // The link points at a valid policy: followed, it would add a database key.
    const r = await both({ "policies/orders.yaml": POLICY, "docs/billing.yaml": OTHER, "policies/billing.yaml": { content: "../docs/billing.yaml", mode: "120000" } });
    for (const d of [r.api, r.disk]) {
      expect(d?.ok).toBe(false);
      expect(d?.details).toBeNull();
      expect(codes(d)).toEqual(["JIT_POLICY_INVALID"]);
      expect(d?.problems[0]?.message).toBe("policies/billing.yaml is a symbolic link (mode 120000); a policy file must be a regular file");
    }
    // the sweeps' and pushes' reader refuses it too (it used to take the link's blob as a policy)
    const at = await policyAt(gh, r.ref, r.sha);
    expect([at.ok, at.details, codes(at)]).toEqual([false, null, ["JIT_POLICY_INVALID"]]);
  });

  it("I2: an executable policy file or a directory named like one fails closed both ways", async () => {
    const exec = await both({ "policies/orders.yaml": { content: POLICY, mode: "100755" } });
    for (const d of [exec.api, exec.disk]) expect([d?.details, d?.problems[0]?.message]).toEqual([null, "policies/orders.yaml is executable (mode 100755); a policy file must be a regular file"]);
    const tree = await both({ "policies/orders.yaml": POLICY, "policies/extra.yaml/x.yaml": OTHER });
    for (const d of [tree.api, tree.disk]) expect([d?.details, d?.problems[0]?.message]).toEqual([null, "policies/extra.yaml is a directory; a policy file must be a regular file"]);
  });

  it("more policy files than the reader reads fails closed both ways", async () => {
    const files: Layout = {};
    for (let i = 0; i <= MAX_POLICY_FILES; i++) files[`policies/p${String(i).padStart(3, "0")}.yaml`] = "identities: {}\n";
    const r = await both(files);
    for (const d of [r.api, r.disk]) expect([d?.details, codes(d)]).toEqual([null, ["JIT_POLICY_INVALID"]]);
  });

  it("no policies/ directory: null from both readers; the CLI refuses, a server start treats it as optional", async () => {
    const r = await both({ "docs/readme.md": "x\n" });
    expect([r.api, r.disk]).toEqual([null, null]);
    expect(await localPolicies(r.dir)).toBeNull();
    const cli = await loadPolicies(r.dir);
    expect([cli.details, cli.problems.map((p) => p.message)]).toEqual([null, [`no policies/ directory in ${r.dir}`]]);
    const at = await policyAt(gh, r.ref, r.sha);
    expect([at.details, codes(at)]).toEqual([null, ["JIT_POLICY_INVALID"]]);
  });
});
