// `npm run demo` runs in CI: the same function, with its narration captured.
import { describe, expect, it } from "vitest";
import { runDemo } from "../../scripts/demo.ts";

describe("npm run demo", () => {
  it("tells the whole story as a labelled local simulation: request, check, approval, merge, GRANT, expiry, revoke, revert PR", async () => {
    const lines: string[] = [];
    const r = await runDemo({ out: (l) => lines.push(l) });
    const text = lines.join("\n");
    expect(text).toContain("LOCAL SIMULATION");
    expect(r.grantedAfterMerge).toEqual([{ role: "orders_readonly", member: "alice", grantor: "jit_app" }]);
    expect(r.grantedAfterExpiry).toEqual([]);
    expect(r.checkConclusions).toEqual(["action_required", "success"]);
    expect(r.ledgerStatus).toBe("revoked");
    expect(r.sessionsEnded).toBe(1);
    expect(r.revertPr).toMatchObject({ merged: true, title: "Expire orders-prod/alice-inc-1234: orders_readonly for alice" });
    expect(r.requestFileOnMain).toBe(false);
    const steps = lines.filter((l) => /^── \d+\. /.test(l)).map((l) => l.replace(/^── \d+\. /, ""));
    expect(steps).toHaveLength(9);
    expect(steps[1]).toMatch(/^alice opens pull request #1/);
    expect(text).toMatch(/GRANT "orders_readonly" TO "alice"/);
    expect(text).toContain("orders_readonly  alice   jit_app");
    expect(text).toContain("alice's open session was terminated");
  });
});
