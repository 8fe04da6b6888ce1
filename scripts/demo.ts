// `npm run demo`: the whole story of one access request, LOCAL SIMULATION only. A GitHub simulator
// (test/sim) and a throwaway PostgreSQL (test/harness/postgres.ts) run on 127.0.0.1; the real app
// (src/app.ts, Probot over HTTP) and the real scheduler (src/scheduler/) do the work. Nothing
// touches GitHub or any database of yours; everything is deleted at the end.
//
//   request PR → check run → approval → merge → GRANT (pg_auth_members) → expiry → REVOKE and
//   sessions ended → revert PR opened and merged by the app
import { pathToFileURL } from "node:url";
import type { Probot } from "probot";
import { probotGitHub } from "../src/github/installations.ts";
import { LeaderLock } from "../src/scheduler/leader.ts";
import { GitHubPolicySource } from "../src/scheduler/policy-source.ts";
import { startScheduler, type Scheduler } from "../src/scheduler/scheduler.ts";
import { APP_ROLE, POLICY_YAML, requestPath, requestYaml, startJitE2E, type JitE2E } from "../test/e2e/app-fixture.ts";

export interface DemoResult {
  /** Memberships granted by the app after the merge, and after the expiry sweep. */
  grantedAfterMerge: { role: string; member: string; grantor: string }[];
  grantedAfterExpiry: { role: string; member: string; grantor: string }[];
  checkConclusions: string[];
  ledgerStatus: string;
  sessionsEnded: number;
  revertPr: { number: number; merged: boolean; title: string } | null;
  requestFileOnMain: boolean;
}

export interface DemoOptions {
  /** Where the narration goes (default: stdout). */
  out?: (line: string) => void;
}

/** The story must really happen: a step that did not is an error (exit 1), never a shrug. */
function ensure(ok: boolean, what: string): void {
  if (!ok) throw new Error(`the demo expected ${what}`);
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const started = Date.now();
  let step = 0;
  const say = (title: string, ...lines: string[]) => {
    out("");
    out(`── ${++step}. ${title}`);
    for (const l of lines) out(`   ${l}`);
  };
  const indent = (text: string) => text.trimEnd().split("\n").map((l) => `     │ ${l}`);

  out("════════════════════════════════════════════════════════════════════════════");
  out(" jit-access demo — LOCAL SIMULATION");
  out(" A simulated GitHub and a throwaway PostgreSQL on 127.0.0.1. No real GitHub,");
  out(" no database of yours is touched. Everything is deleted when the demo ends.");
  out("════════════════════════════════════════════════════════════════════════════");

  let w: JitE2E | undefined;
  let scheduler: Scheduler | undefined;
  try {
    w = await startJitE2E({ logLevel: "warn" });
    const { sim } = w.e2e;
    const repo = w.repo;
    const probot = w.e2e.app.probot as Probot;
    const deps = w.deps[0]!;
    const github = probotGitHub(probot);
    scheduler = startScheduler({
      state: deps.state, engines: deps.engines, github, log: { info() {}, warn() {}, error() {} }, leader: LeaderLock.forPool(deps.state),
      policies: new GitHubPolicySource({ github, state: deps.state, ttlMs: 0 }),
      // the demo drives the scheduler's ticks itself
      config: { sweepIntervalMs: 0, remindBeforeMs: 0 }, outboxBackoff: () => 0,
    });
    await scheduler.ready;

    say("The stage (simulated)",
      `GitHub simulator at ${sim.baseUrl}; the jit-access app (Probot) receives its webhooks over HTTP.`,
      `PostgreSQL ${w.major} on 127.0.0.1:${w.e2e.pg!.port}: database "orders" with the pure role orders_readonly,`,
      `the app's own role ${APP_ROLE} (ADMIN on orders_readonly only, cannot read the data) and the login alice.`,
      `Repository acme/access, with policies/orders.yaml (excerpt):`,
      ...indent(POLICY_YAML.split("\n").slice(0, 10).join("\n")),
      `and .github/CODEOWNERS: /access-requests/ @acme/dba. dora is a DBA; alice is an engineer.`);

    const id = "alice-inc-1234";
    const yaml = requestYaml();
    const { number, headSha } = await w.request("alice", id, yaml);
    say(`alice opens pull request #${number} adding ${requestPath(id)}`, ...indent(yaml));

    const waiting = await w.check(headSha);
    ensure(waiting.conclusion === "action_required", "the check to wait for an approval");
    const sql = /```sql\n([\s\S]*?)\n```/.exec(waiting.output.summary ?? "")?.[1] ?? "(no SQL)";
    say("The app evaluates it and reports a check run named jit-access",
      `conclusion: ${waiting.conclusion} — ${waiting.output.title}`,
      "the exact SQL it would run on merge:", ...indent(sql));

    await repo.review("dora", number, "APPROVE");
    await w.idle();
    const ready = await w.check(headSha);
    ensure(ready.conclusion === "success", "the check to turn green after the approval");
    say("dora (a code owner in @acme/dba, with write access) approves",
      `the app re-evaluates on the review event: ${ready.conclusion} — ${ready.output.title}`);

    const mergeSha = await repo.merge(number, { method: "squash" });
    await w.idle();
    const granted = w.comments(number).find((c) => c.body.includes("granted `"));
    const afterMerge = await w.appGranted();
    const [row] = await w.ledger(id);
    ensure(afterMerge.length === 1 && row?.status === "active" && granted !== undefined, "a grant after the merge");
    say(`The PR is merged (${mergeSha.slice(0, 12)}); the app re-verifies everything from API reads and grants`,
      `comment on #${number}: ${granted?.body ?? "(none)"}`,
      "pg_auth_members, rows granted by the app's role:",
      ...indent(["role             member  grantor", ...afterMerge.map((m) => `${m.role.padEnd(16)} ${m.member.padEnd(7)} ${m.grantor}`)].join("\n")),
      `ledger: ${row!.status}, granted ${row!.granted_at!.toISOString()}, expires ${row!.expires_at!.toISOString()} (by the database clock)`);

    const alice = await w.e2e.pg!.connect("alice", "orders");
    const n = (await alice.query<{ n: number }>("SELECT count(*)::int AS n FROM public.orders")).rows[0]!.n;
    say("alice connects as herself and reads what the role allows", `SELECT count(*) FROM public.orders → ${n}`);

    // Time travel: the grant is for 2h. Rather than wait, the demo moves its expiry into the past in
    // the ledger; the sweep decides by the database clock exactly as it would two hours later.
    await deps.state.query("UPDATE ledger SET expires_at = now() - interval '1 second' WHERE request_id = $1", [id]);
    const tick = await scheduler.runOnce();
    const afterExpiry = await w.appGranted();
    const [closed] = await w.ledger(id);
    const sessionGone = await alice.query("SELECT 1").then(() => false, () => true);
    await alice.end().catch(() => {});
    const sessions = (await deps.state.query<{ n: number }>("SELECT sessions_ended AS n FROM ledger WHERE request_id = $1", [id])).rows[0]!.n;
    ensure(afterExpiry.length === 0 && closed?.status === "revoked" && sessionGone, "the expiry sweep to revoke and end alice's session");
    say("Two hours later (fast-forwarded: the demo sets expires_at in the past) the scheduler sweeps",
      `revoked: ${tick.sweep?.revoked.map((g) => g.requestId).join(", ")}; sessions ended: ${sessions}; alice's open session was terminated`,
      "pg_auth_members rows granted by the app: none",
      `ledger: ${closed!.status} at ${closed!.revoked_at?.toISOString()} (${closed!.revoke_reason})`);

    await scheduler.drainNow();
    await w.idle();
    const revert = repo.pulls().find((p) => p.headRef.startsWith("jit/expire/"));
    const onMain = (await repo.fileAt(repo.defaultBranch, requestPath(id))) !== null;
    ensure(revert?.merged === true && !onMain, "a merged revert pull request deleting the request file");
    say("The app opens a revert pull request, so git history records the end of the access",
      `#${revert!.number} "${revert!.title}" by ${revert!.user}: merged`,
      `${requestPath(id)} is deleted from main; the request id can never be granted again.`);

    const checks = (await w.checks(headSha)).map((c) => c.conclusion ?? c.status);
    say("Done", `The whole story took ${((Date.now() - started) / 1000).toFixed(1)} s. This was a LOCAL SIMULATION;`,
      "see README.md to install the GitHub App for real, and docs/simulator.md for the simulator.");
    return {
      grantedAfterMerge: afterMerge, grantedAfterExpiry: afterExpiry, checkConclusions: checks, ledgerStatus: closed!.status,
      sessionsEnded: sessions, revertPr: revert ? { number: revert.number, merged: revert.merged, title: revert.title } : null, requestFileOnMain: onMain,
    };
  } finally {
    await scheduler?.stop().catch(() => {});
    await w?.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runDemo().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`demo failed: ${(e as Error).stack ?? String(e)}`);
      process.exit(1);
    });
}
