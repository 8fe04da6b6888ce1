// GitHubSimulator: a stateful GitHub (REST + webhooks) on 127.0.0.1 for end-to-end tests.
// See docs/simulator.md for the API.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { randomBytes } from "node:crypto";
import { AppAuth, generateAppKeyPair } from "./auth.ts";
import { ContractValidator, type ContractViolation } from "./contract.ts";
import type { SimContext } from "./context.ts";
import { Faults, RateLimits, type Fault, type FaultSpec, type RequestLogEntry } from "./faults.ts";
import { createRepo, type CreateRepoOptions } from "./repos.ts";
import { allRoutes } from "./routes/index.ts";
import { RepoScenario, type CommitSpec, type Files, type OpenPullOptions, type ReviewState } from "./scenario.ts";
import { createSimServer } from "./server.ts";
import { issueManifestCode } from "./manifests.ts";
import { installationShape, userByLogin } from "./shapes.ts";
import type { Team } from "./state.ts";
import { WebhookDispatcher, type Delivery, type DeliveryFilter, type SignatureMode } from "./webhooks.ts";
import { SimWorld, type AppInfo } from "./world.ts";
import type { MergeMethod } from "./pulls.ts";

let sharedContract: ContractValidator | null = null;

export interface SimulatorOptions {
  appId?: number;
  appSlug?: string;
  /** owner of the App registration (a user or org login) */
  appOwner?: string;
  webhookSecret?: string;
  /** where deliveries go; several URLs are served round-robin (replicas) */
  webhookUrls?: string[];
  deliveryMode?: "serial" | "concurrent";
  /** clock for timestamps in resources (created_at, submitted_at…); JWT/token expiry uses real time */
  now?: () => Date;
  /** primary rate limit per credential and hour */
  rateLimit?: number;
  /** delay every API request by this many ms before answering (see setLatency) */
  latencyMs?: number;
}

export interface SimulatorApp {
  id: number;
  slug: string;
  /** PKCS#1 PEM, generated for this simulator instance only */
  privateKey: string;
  webhookSecret: string;
  botLogin: string;
}

export class GitHubSimulator {
  readonly requestLog: RequestLogEntry[] = [];
  readonly violations: ContractViolation[] = [];
  readonly #ctx: SimContext;
  readonly #auth: AppAuth;
  readonly #faults = new Faults();
  #server: Server | null = null;
  #last: RepoScenario | null = null;

  readonly app: SimulatorApp;

  private constructor(app: SimulatorApp, ctx: SimContext, auth: AppAuth) {
    this.app = app;
    this.#ctx = ctx;
    this.#auth = auth;
  }

  static async start(o: SimulatorOptions = {}): Promise<GitHubSimulator> {
    const keys = generateAppKeyPair();
    const appId = o.appId ?? 31337;
    const slug = o.appSlug ?? "jit-access";
    const info: AppInfo = {
      id: appId, slug, name: slug, clientId: `Iv1.${randomBytes(8).toString("hex")}`, owner: o.appOwner ?? "jit-access-dev", createdAt: new Date(),
      permissions: { checks: "write", contents: "write", issues: "write", metadata: "read", pull_requests: "write", members: "read" },
      events: ["check_run", "check_suite", "pull_request", "pull_request_review", "push"],
    };
    const w = new SimWorld(info, o.now ?? (() => new Date()));
    w.user(info.owner);
    w.user(`${slug}[bot]`, { type: "Bot", email: `${appId}+${slug}[bot]@users.noreply.github.com` });
    const contract = (sharedContract ??= new ContractValidator());
    const webhookSecret = o.webhookSecret ?? randomBytes(20).toString("hex");
    let sim: GitHubSimulator | null = null;
    const record = (v: ContractViolation) => { sim?.violations.push(v); };
    const hooks = new WebhookDispatcher({
      secret: webhookSecret, hookId: 4_200_000 + appId, appId, mode: o.deliveryMode ?? "serial",
      validate: (k, p) => contract.checkWebhook(k, p),
      onViolation: (target, message) => record({ kind: "webhook", target, message }),
    });
    hooks.targets = [...(o.webhookUrls ?? [])];
    const ctx: SimContext = { w, hooks };
    const auth = new AppAuth(keys.publicKey, appId, info.clientId, w.botLogin);
    sim = new GitHubSimulator({ id: appId, slug, privateKey: keys.privateKeyPem, webhookSecret, botLogin: w.botLogin }, ctx, auth);
    const server = createSimServer({
      ctx, auth, contract, faults: sim.#faults, rateLimits: new RateLimits(o.rateLimit ?? 5000), routes: allRoutes(auth), log: sim.requestLog,
      onViolation: (kind, target, message, status) => {
        // A body GitHub would reject is answered 422; it is recorded but is not a simulator defect.
        if (kind === "response") record({ kind, target, message, status });
        else sim!.rejectedRequests.push({ target, message });
      },
    });
    await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(0, "127.0.0.1", resolve); });
    w.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (o.latencyMs) sim.setLatency(o.latencyMs);
    sim.#server = server;
    return sim;
  }

  /** Request bodies answered 422 by the contract check (what GitHub would reject). */
  readonly rejectedRequests: { target: string; message: string }[] = [];

  get baseUrl(): string { return this.#ctx.w.baseUrl; }
  get deliveries(): readonly Delivery[] { return this.#ctx.hooks.deliveries; }

  // ---- people, orgs, teams ----
  createUser(login: string, o: { name?: string; email?: string } = {}): void { this.#ctx.w.user(login, o); }
  createOrg(login: string, members: string[] = []): void {
    this.#ctx.w.org(login);
    for (const m of members) { this.#ctx.w.user(m); this.#ctx.w.orgMembers.get(login.toLowerCase())!.add(m.toLowerCase()); }
  }
  createTeam(org: string, slug: string, o: { members?: string[]; maintainers?: string[]; pending?: string[]; name?: string } = {}): void {
    const w = this.#ctx.w;
    w.org(org);
    const id = w.ids.next("team", 10_000);
    const team: Team = { id, nodeId: w.ids.nodeId("T_", id), org: w.user(org).login, slug, name: o.name ?? slug, members: new Map(), createdAt: w.now() };
    w.teams.set(`${org}/${slug}`.toLowerCase(), team);
    for (const m of o.members ?? []) this.addTeamMember(org, slug, m);
    for (const m of o.maintainers ?? []) this.addTeamMember(org, slug, m, { role: "maintainer" });
    for (const m of o.pending ?? []) this.addTeamMember(org, slug, m, { state: "pending" });
  }
  addTeamMember(org: string, slug: string, login: string, o: { role?: "member" | "maintainer"; state?: "active" | "pending" } = {}): void {
    const w = this.#ctx.w;
    const team = w.team(org, slug);
    if (!team) throw new Error(`no team ${org}/${slug}`);
    w.user(login);
    team.members.set(login.toLowerCase(), { role: o.role ?? "member", state: o.state ?? "active" });
    if ((o.state ?? "active") === "active") w.orgMembers.get(org.toLowerCase())!.add(login.toLowerCase());
  }
  removeTeamMember(org: string, slug: string, login: string): void { this.#ctx.w.team(org, slug)?.members.delete(login.toLowerCase()); }

  // ---- app installation ----
  /** Installs the app on an account and sends installation.created (createRepo installs silently). */
  installApp(account: string, sender = account): number {
    const w = this.#ctx.w;
    const existing = w.installationFor(account);
    if (existing) return existing.id;
    const id = w.ids.next("installation", 40_000);
    w.installations.set(id, { id, account: w.user(account).login, createdAt: w.now() });
    const repos = [...w.repos.values()].filter((r) => r.owner.toLowerCase() === account.toLowerCase());
    this.#ctx.hooks.emit("installation", {
      action: "created", installation: installationShape(w, id),
      repositories: repos.map((r) => ({ id: r.id, node_id: r.nodeId, name: r.name, full_name: `${r.owner}/${r.name}`, private: r.private })),
      requester: null, sender: userByLogin(w, sender),
    });
    return id;
  }
  installationId(account: string): number | undefined { return this.#ctx.w.installationFor(account)?.id; }
  /** A token that acts as a person over the REST API. */
  /** GitHub's "Create GitHub App" click on a manifest (manifests.ts): a one-time code for POST /app-manifests/{code}/conversions. */
  issueManifestCode(manifest: Record<string, unknown>, owner = this.#ctx.w.app.owner): string { return issueManifestCode(this.#ctx.w, manifest, owner); }
  userToken(login: string): string { this.#ctx.w.user(login); return this.#auth.issueUserToken(login); }

  // ---- repositories ----
  async createRepo(o: CreateRepoOptions): Promise<RepoScenario> {
    const r = await createRepo(this.#ctx, o);
    this.#last = new RepoScenario(this.#ctx, r);
    return this.#last;
  }
  repo(fullName?: string): RepoScenario {
    if (!fullName) {
      if (!this.#last) throw new Error("no repository yet: call createRepo first");
      return this.#last;
    }
    const [owner, name] = fullName.split("/") as [string, string];
    return new RepoScenario(this.#ctx, this.#ctx.w.repo(owner, name));
  }

  // Shortcuts on the most recently created repository.
  openPullRequest(asUser: string, branch: string, files: Files, o?: OpenPullOptions) { return this.repo().openPullRequest(asUser, branch, files, o); }
  pushCommits(asUser: string, prNumber: number, files: Files | CommitSpec[], o?: Omit<CommitSpec, "files">) { return this.repo().pushCommits(asUser, prNumber, files, o); }
  review(asUser: string, prNumber: number, state: ReviewState, o?: { commitId?: string; body?: string; force?: boolean }) { return this.repo().review(asUser, prNumber, state, o); }
  dismissReview(reviewId: number, o?: { asUser?: string; message?: string }) { return this.repo().dismissReview(reviewId, o); }
  merge(prNumber: number, o?: { method?: MergeMethod; asAdminBypass?: boolean; asUser?: string; sha?: string }) { return this.repo().merge(prNumber, o); }
  closePullRequest(prNumber: number, o?: { asUser?: string }) { return this.repo().close(prNumber, o); }
  pushToDefaultBranch(files: Files, o?: { asUser?: string } & Omit<CommitSpec, "files">) { return this.repo().pushToDefaultBranch(files, o); }

  // ---- webhooks ----
  setWebhookUrls(urls: string[]): void { this.#ctx.hooks.targets = [...urls]; }
  redeliver(guid: string): Delivery { return this.#ctx.hooks.redeliver(guid); }
  dropNextDelivery(filter: DeliveryFilter): void { this.#ctx.hooks.dropNext(filter); }
  findDeliveries(filter?: DeliveryFilter): Delivery[] { return this.#ctx.hooks.find(filter); }
  /** Regular deliveries that were sent but not answered 2xx (app errors, timeouts, no target). */
  failedDeliveries(): Delivery[] {
    return this.#ctx.hooks.deliveries.filter((d) => !d.dropped && !d.forged && (d.status === null || d.status < 200 || d.status >= 300));
  }
  /** Sends a delivery with a chosen signature (valid, bad, missing, sha1-only, other secret). */
  sendSignedDelivery(event: string, payload: Record<string, unknown>, sign: SignatureMode, target?: string): Promise<Delivery> {
    return this.#ctx.hooks.sendForged(event, payload, sign, target);
  }
  /** Resolves when no delivery is queued or in flight, including those triggered by handlers. */
  waitForIdle(): Promise<void> { return this.#ctx.hooks.waitForIdle(); }

  // ---- faults, log, contract ----
  injectFault(spec: FaultSpec): Fault { return this.#faults.add(spec); }
  clearFaults(): void { this.#faults.clear(); }
  /** Every API request waits `ms` before it is answered (on top of any fault's own latency). */
  setLatency(ms: number): void { this.#faults.latencyMs = ms; }
  /** Requests matching an operationId or "METHOD /template" (all when omitted). */
  requests(route?: string): RequestLogEntry[] {
    return route ? this.requestLog.filter((e) => e.operationId === route || `${e.method} ${e.route}` === route) : [...this.requestLog];
  }
  countRequests(route?: string): number { return this.requests(route).length; }
  clearRequestLog(): void { this.requestLog.length = 0; }
  takeViolations(): ContractViolation[] { return this.violations.splice(0); }
  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const text = this.violations.map((v) => `- ${v.kind} ${v.target}${v.status ? ` (${v.status})` : ""}: ${v.message}`).join("\n");
    throw new Error(`GitHub simulator contract violations:\n${text}`);
  }

  /** Stops the server, removes every git temp dir, then throws if any contract violation was recorded. */
  async close(): Promise<void> {
    await this.#ctx.hooks.waitForIdle().catch(() => {});
    const server = this.#server;
    this.#server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const r of this.#ctx.w.repos.values()) await r.git.destroy();
    this.assertNoViolations();
  }
}

export const startGitHubSimulator = (o?: SimulatorOptions) => GitHubSimulator.start(o);
