// The jit-access GitHub App under test, end to end: the real app (src/app.ts) served by the e2e
// harness against the GitHub simulator, its state database, and a target database in the same
// PostgreSQL cluster prepared as docs/database.md says (app role per server major, pure grantable
// roles, ordinary logins). One `startJitE2E` per test file (one cluster per file).
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import pg from "pg";
import type { ApplicationFunction, Probot } from "probot";
import { createApp } from "../../src/app.ts";
import { probotGitHub } from "../../src/github/installations.ts";
import { DEFAULT_QUEUE_CONFIG, type QueueConfig } from "../../src/queue/config.ts";
import { startPipeline, type Pipeline } from "../../src/queue/pipeline.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createPool } from "../../src/db/state.ts";
import { buildDeps } from "../../src/usecases/build-deps.ts";
import type { AppDeps } from "../../src/usecases/context.ts";
import { appRoleSql, grantableRoleSql } from "../harness/grant-fixture.ts";
import type { RepoScenario } from "../sim/index.ts";
import type { Files } from "../sim/scenario.ts";
import { startE2E, type E2E, type E2EAppOptions, type E2EOptions, type E2EWebhookRoute } from "./harness.ts";

export const OWNER = "acme";
export const REPO = "access";
export const DB_KEY = "orders-prod";
export const CONNECTION_ENV = "ORDERS_PROD_DATABASE_URL";
export const TARGET_DB = "orders";
export const APP_ROLE = "jit_app";
export const GRANTABLE = ["orders_readonly", "orders_admin"] as const;
export const LOGINS = ["alice", "bob", "carol", "dora"] as const;
export const CHECK = "jit-access";

export const POLICY_YAML = `databases:
  orders-prod:
    connection_env: ${CONNECTION_ENV}
    roles:
      orders_readonly:
        max_duration: 8h
        approvals: 1
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering", "@acme/dba"]
        require_ticket: true
      orders_admin:
        max_duration: 1h
        approvals: 2
        approvers: ["@acme/dba"]
        requesters: ["@acme/engineering", "@acme/dba"]
identities:
  alice: alice
  bob: bob
  carol: carol
  dora: dora
`;

export const CODEOWNERS = `# last matching line wins
*                    @acme/security
/access-requests/    @acme/dba
/policies/           @acme/security
/schemas/            @acme/security
/.github/            @acme/security
`;

/**
 * People: alice, bob and carol are engineers (requesters); dora and dan are DBAs with write access
 * (eligible approvers); olga is a DBA with read access only; sam is security (owner of policies/);
 * mallory has write access but owns nothing.
 */
export const PEOPLE = {
  engineering: ["alice", "bob", "carol"],
  dba: ["dora", "dan", "olga"],
  security: ["sam"],
} as const;

export const BASE_FILES: Files = {
  "README.md": "# access\n",
  ".github/CODEOWNERS": CODEOWNERS,
  "policies/orders.yaml": POLICY_YAML,
  "schemas/access-request.schema.json": "{}\n",
  "package.json": "{ \"name\": \"access\" }\n",
};

export function requestYaml(o: { role?: string; duration?: string; reason?: string; ticket?: string | null; user?: string } = {}): string {
  const lines = [`role: ${o.role ?? "orders_readonly"}`, `duration: ${o.duration ?? "2h"}`, `reason: ${o.reason ?? "Investigate INC-1234 duplicate orders"}`];
  if (o.ticket !== null) lines.push(`ticket: ${o.ticket ?? "INC-1234"}`);
  if (o.user) lines.push(`user: ${o.user}`);
  return `${lines.join("\n")}\n`;
}

export const requestPath = (id: string, db = DB_KEY) => `access-requests/${db}/${id}.yaml`;

/** Queue settings for tests: quick polls and retries, so a retried job runs within a test. */
export const TEST_QUEUE_CONFIG: QueueConfig = { ...DEFAULT_QUEUE_CONFIG, pollMs: 100, backoffMs: 100, maxBackoffMs: 1000, leaseMs: 10_000, mergeReconcileMs: 0 };

interface AppHooks {
  appEnv: Record<string, string>;
  deps: (AppDeps & { close(): Promise<void> })[];
  pools: pg.Pool[];
  /** Per replica: its state pool and use-case dependencies, once its app function ran. */
  replicas: Map<number, { state: pg.Pool; deps: AppDeps }>;
  pipelines: Pipeline[];
}

/** An application function that builds the real app over the harness's state database. */
export function jitTestApp(hooks: Omit<AppHooks, "replicas" | "pipelines"> & Partial<Pick<AppHooks, "replicas">>): ApplicationFunction {
  return async (app, options) => {
    const o = options as E2EAppOptions;
    Object.assign(hooks.appEnv, o.env);
    const state = createPool({ connectionString: o.env.DATABASE_URL, max: 10, application_name: `jit-access-${o.replica}` });
    hooks.pools.push(state);
    await migrate(state);
    const deps = buildDeps({ state, env: hooks.appEnv, now: () => o.clock.nowMs(), log: app.log, appId: Number(o.env.APP_ID) });
    hooks.deps.push(deps);
    hooks.replicas?.set(o.replica, { state, deps });
    createApp(deps)(app);
  };
}

/** The app's own webhook route (src/queue/): verify, store, 202; a worker per replica runs the handlers. */
function jitRoute(hooks: AppHooks, config: QueueConfig): (probot: Probot, replica: number) => Promise<E2EWebhookRoute> {
  return async (probot, replica) => {
    const r = hooks.replicas.get(replica);
    if (!r) throw new Error(`replica ${replica} has no state database`);
    const pipeline = await startPipeline({
      probot, state: r.state, secret: hooks.appEnv.WEBHOOK_SECRET!, log: r.deps.log, config,
      github: probotGitHub(probot, Number(hooks.appEnv.APP_ID)),
    });
    hooks.pipelines[replica] = pipeline;
    return { handle: pipeline.webhooks, drain: () => pipeline.drain(), stop: () => pipeline.stop() };
  };
}

export interface Membership { role: string; member: string; grantor: string }

export interface LedgerRowLite {
  id: number;
  request_id: string;
  status: string;
  role: string;
  db_user: string;
  pr_number: number | null;
  head_sha: string | null;
  merge_sha: string | null;
  approvers: string[];
  granted_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoke_reason: string | null;
  duration_ms: string;
  sql_executed: { text: string }[];
}

export interface JitE2E {
  e2e: E2E;
  repo: RepoScenario;
  /** Superuser connection to the target database (assertions only). */
  su: pg.Client;
  /** Superuser connection to the state database (assertions only). */
  stateSu: pg.Client;
  major: number;
  /** The password of the app role, generated for this run (case 30 looks for it everywhere). */
  targetPassword: string;
  deps: AppDeps[];
  /** Each replica's delivery pipeline (queue worker, stats), by replica index. */
  pipelines: Pipeline[];
  /** The environment the app's engines read connection strings from (tests may add variables). */
  appEnv: Record<string, string>;
  /** Memberships whose grantor is the app role, as pg_auth_members has them. */
  appGranted(): Promise<Membership[]>;
  ledger(requestId?: string): Promise<LedgerRowLite[]>;
  /** Another access repository of the same organisation: BASE_FILES plus `files` (null deletes). */
  newRepo(name: string, o?: { files?: Files; protection?: Parameters<RepoScenario["setProtection"]>[0] }): Promise<RepoScenario>;
  /** Opens a request PR adding access-requests/orders-prod/<id>.yaml as `user`, and waits for the app. */
  request(user: string, id: string, yaml?: string, o?: OpenOptions): Promise<{ number: number; headSha: string }>;
  /** The latest jit-access check run on a commit (with annotations). */
  check(headSha: string, repo?: RepoScenario): Promise<CheckRunView>;
  checks(headSha: string, repo?: RepoScenario): Promise<CheckRunView[]>;
  /** Comment bodies on a PR or issue, oldest first, with their authors. */
  comments(number: number, repo?: RepoScenario): CommentView[];
  /** Open and closed issues labelled jit-alert. */
  alerts(repo?: RepoScenario): { number: number; title: string; state: string; body: string }[];
  /** Waits for every delivery and the jobs they queued; fails when the app answered one with an error or a job failed. */
  idle(o?: { allowRetries?: boolean }): Promise<void>;
  /** No app-granted membership (of `member`, or of anyone when null) and no active or in-flight ledger row for the request. */
  nothingGranted(requestId: string, member?: string | null): Promise<void>;
  /** Merges as an admin bypassing protection; asserts exactly one refusal comment and no grant comment; returns the refusal. */
  mergeAndRefusal(number: number, repo?: RepoScenario): Promise<string>;
  stop(): Promise<void>;
}

export type OpenOptions = Parameters<RepoScenario["openPullRequest"]>[3] & { extra?: Files; repo?: RepoScenario; branch?: string };

export interface CommentView { id: number; user: string; body: string; updated_at: string }

export interface CheckRunView {
  id: number;
  status: string;
  conclusion: string | null;
  head_sha: string;
  output: { title: string | null; summary: string | null };
  annotations: { path: string; start_line: number; title: string | null; message: string; annotation_level: string }[];
}

export interface JitE2EOptions {
  replicas?: number;
  logLevel?: E2EOptions["logLevel"];
  sim?: E2EOptions["sim"];
  /** Extra files on the default branch, or overrides of BASE_FILES (null deletes). */
  files?: Files;
  protection?: Parameters<RepoScenario["setProtection"]>[0];
  /** Password of the app role; random when omitted. */
  targetPassword?: string;
  /** JIT_REPOSITORIES for the app (I10); unset: every repository counts, as in development. */
  repositories?: string;
  /** Queue settings (default TEST_QUEUE_CONFIG). */
  queue?: Partial<QueueConfig>;
}

/** Creates the target database as an operator would (docs/database.md) and returns the app's URL. */
async function prepareTarget(e2e: E2E, password: string): Promise<{ su: pg.Client; major: number; url: string }> {
  const admin = await e2e.pg!.connect();
  try {
    await admin.query(`CREATE DATABASE ${TARGET_DB}`);
  } finally {
    await admin.end();
  }
  const su = await e2e.pg!.connect("postgres", TARGET_DB);
  const major = Math.floor(Number((await su.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000);
  await su.query("CREATE TABLE public.orders (id int PRIMARY KEY, total numeric NOT NULL)");
  await su.query("INSERT INTO public.orders SELECT g, g * 1.5 FROM generate_series(1, 100) g");
  for (const r of GRANTABLE) for (const s of grantableRoleSql(r, r.endsWith("_admin") ? "SELECT, INSERT, UPDATE" : "SELECT")) await su.query(s);
  for (const s of appRoleSql(major, APP_ROLE, [...GRANTABLE])) await su.query(s);
  // Loopback trust authentication ignores it, but the app is configured with it like in production.
  await su.query(`ALTER ROLE ${APP_ROLE} PASSWORD '${password}'`);
  for (const l of LOGINS) await su.query(`CREATE ROLE ${l} LOGIN`);
  const url = `postgresql://${APP_ROLE}:${encodeURIComponent(password)}@127.0.0.1:${e2e.pg!.port}/${TARGET_DB}`;
  return { su, major, url };
}

export async function startJitE2E(o: JitE2EOptions = {}): Promise<JitE2E> {
  const hooks: AppHooks = { appEnv: {}, deps: [], pools: [], replicas: new Map(), pipelines: [] };
  if (o.repositories !== undefined) hooks.appEnv.JIT_REPOSITORIES = o.repositories;
  const e2e = await startE2E({
    app: jitTestApp(hooks), route: jitRoute(hooks, { ...TEST_QUEUE_CONFIG, ...o.queue }),
    replicas: o.replicas, logLevel: o.logLevel ?? "info", ...(o.sim ? { sim: o.sim } : {}),
  });
  const password = o.targetPassword ?? randomBytes(12).toString("hex");
  let su: pg.Client | undefined;
  let stateSu: pg.Client | undefined;
  try {
    const target = await prepareTarget(e2e, password);
    su = target.su;
    hooks.appEnv[CONNECTION_ENV] = target.url;
    stateSu = await e2e.pg!.connect("postgres", "jit_state");

    const { sim } = e2e;
    sim.createOrg(OWNER, [...PEOPLE.engineering, ...PEOPLE.dba, ...PEOPLE.security, "mallory"]);
    sim.createTeam(OWNER, "engineering", { members: [...PEOPLE.engineering] });
    sim.createTeam(OWNER, "dba", { members: [...PEOPLE.dba] });
    sim.createTeam(OWNER, "security", { members: [...PEOPLE.security] });
    const newRepo = async (name: string, r: { files?: Files; protection?: JitE2EOptions["protection"] } = {}) => {
      const files: Files = { ...BASE_FILES, ...r.files };
      for (const [k, v] of Object.entries(files)) if (v === null) delete files[k];
      return sim.createRepo({
        owner: OWNER, name, files,
        // the dba team only reads; dora and dan have write directly: olga is an owner without write
        teams: { engineering: "write", dba: "read", security: "admin" },
        collaborators: { dora: "write", dan: "write", mallory: "write" },
        ...(r.protection ? { protection: r.protection } : {}),
      });
    };
    const repo = await newRepo(REPO, { files: o.files, protection: o.protection });
    // The app's clock starts when the world is ready: the setup above (clusters, target) took wall
    // time that the database clock counted and the test clock did not ("in 4h" would read "in 4h 1m").
    e2e.clock.set(new Date());
    const self: JitE2E = {
      e2e, repo, su: su!, stateSu: stateSu!, major: target.major, targetPassword: password, deps: hooks.deps, pipelines: hooks.pipelines, appEnv: hooks.appEnv, newRepo,
      async appGranted() {
        const { rows } = await self.su.query<Membership>(`
          SELECT r.rolname::text AS role, m.rolname::text AS member, g.rolname::text AS grantor FROM pg_auth_members am
            JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.grantor
           WHERE am.grantor = '${APP_ROLE}'::regrole ORDER BY 1, 2`);
        return rows;
      },
      async ledger(requestId) {
        const { rows } = await self.stateSu.query<LedgerRowLite>(
          "SELECT * FROM ledger WHERE ($1::text IS NULL OR request_id = $1) ORDER BY id", [requestId ?? null]);
        return rows;
      },
      async request(user, id, yaml = requestYaml(), opts = {}) {
        const { extra, repo: on = repo, branch, ...rest } = opts;
        const r = await on.openPullRequest(user, branch ?? `req/${id}`, { [requestPath(id)]: yaml, ...extra }, { title: `Access request ${id}`, ...rest });
        await self.idle();
        return r;
      },
      async checks(headSha, on = repo) {
        const runs = (await on.checkRuns(headSha)) as unknown as CheckRunView[];
        return runs.filter((r) => (r as unknown as { name: string }).name === CHECK);
      },
      async check(headSha, on = repo) {
        const runs = await self.checks(headSha, on);
        const last = runs.at(-1);
        if (!last) throw new Error(`no ${CHECK} check run on ${headSha}`);
        return last;
      },
      comments(number, on = repo) {
        return on.comments(number).map((c) => ({
          id: c.id as number, user: (c.user as { login: string }).login, body: c.body as string, updated_at: c.updated_at as string,
        }));
      },
      alerts(on = repo) {
        return on.issues().filter((i) => !i.isPull && i.labels.includes("jit-alert")).map((i) => ({
          number: i.number, title: i.title, state: i.state, body: String((on.repo.issues.get(i.number)?.body) ?? ""),
        }));
      },
      async idle(io = {}) {
        // Deliveries queue jobs, and jobs cause deliveries: settle until a round adds nothing.
        let seen: number;
        do {
          seen = sim.deliveries.length;
          await sim.waitForIdle();
          await Promise.all(e2e.apps.map((a) => a.drain()));
        } while (sim.deliveries.length !== seen);
        const { rows: jobErrors } = await self.stateSu.query<{ delivery_id: string; event: string; action: string | null; state: string; last_error: string }>(
          "SELECT delivery_id, event, action, state, last_error FROM deliveries WHERE last_error IS NOT NULL ORDER BY seq");
        if (jobErrors.length && !io.allowRetries) {
          throw new Error(`the app failed jobs:\n${jobErrors.map((j) => `${j.event}.${j.action ?? ""} ${j.delivery_id} (${j.state}): ${j.last_error}`).join("\n")}`);
        }
        const failed = sim.failedDeliveries();
        if (failed.length) {
          const lines = failed.map((d) => `${d.event}.${d.action ?? ""} ${d.guid}: ${d.status ?? d.error} ${d.responseBody ?? ""}`);
          const errors = e2e.logs.filter((l) => /"level":(50|60)/.test(l)).slice(-5).map((l) => {
            const j = JSON.parse(l) as { msg?: string; err?: { stack?: string } };
            return `${j.msg ?? ""}
${(j.err?.stack ?? "").split("\n").slice(0, 8).join("\n")}`;
          });
          throw new Error(`the app failed deliveries:\n${lines.join("\n")}\n${errors.join("\n")}`);
        }
      },
      async nothingGranted(requestId, member = "alice") {
        expect((await self.appGranted()).filter((m) => member === null || m.member === member)).toEqual([]);
        expect((await self.ledger(requestId)).filter((r) => r.status === "active" || r.status === "intent")).toEqual([]);
      },
      async mergeAndRefusal(number, on = repo) {
        await on.merge(number, { asAdminBypass: true, method: "merge" });
        await self.idle();
        const refusals = self.comments(number, on).filter((c) => c.body.startsWith("❌ **jit-access**: nothing was granted"));
        expect(refusals).toHaveLength(1);
        expect(self.comments(number, on).some((c) => c.body.includes("granted `"))).toBe(false);
        return refusals[0]!.body;
      },
      async stop() {
        await e2e.sim.waitForIdle().catch(() => {});
        await Promise.all(hooks.pipelines.map((p) => p.stop().catch(() => {})));
        await Promise.all(hooks.deps.map((d) => d.close().catch(() => {})));
        await Promise.all(hooks.pools.map((p) => p.end().catch(() => {})));
        await self.su.end().catch(() => {});
        await self.stateSu.end().catch(() => {});
        await e2e.stop();
      },
    };
    return self;
  } catch (e) {
    await su?.end().catch(() => {});
    await stateSu?.end().catch(() => {});
    await Promise.all(hooks.pools.map((p) => p.end().catch(() => {})));
    await e2e.stop().catch(() => {});
    throw e;
  }
}

/** The code of a check run: the title starts with it for failures; the summary lists all codes. */
export function codesIn(text: string | null | undefined): string[] {
  return [...new Set([...(text ?? "").matchAll(/\bJIT_[A-Z0-9_]+\b/g)].map((m) => m[0]))];
}
