// The simulator's world: users, orgs, teams, the GitHub App and its installations, repositories.
// Lookups and derived facts (effective permission, author association) live here; behaviour that
// changes state lives in pulls.ts / checks.ts, HTTP in routes/, JSON shapes in shapes.ts.
import type { PendingManifest } from "./manifests.ts";
import { Ids, PERMISSION_RANK, type Installation, type Permission, type Repo, type SimUser, type Team } from "./state.ts";

export interface AppInfo {
  id: number;
  slug: string;
  name: string;
  clientId: string;
  owner: string;
  createdAt: Date;
  permissions: Record<string, "read" | "write">;
  events: string[];
}

export class HttpError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
}

export class SimWorld {
  readonly ids = new Ids();
  readonly users = new Map<string, SimUser>();
  readonly orgs = new Set<string>();
  readonly orgMembers = new Map<string, Set<string>>();
  readonly teams = new Map<string, Team>(); // key "org/slug"
  readonly repos = new Map<string, Repo>(); // key "owner/name" (lowercase)
  readonly installations = new Map<number, Installation>();
  /** One-time codes of the app-manifest flow (manifests.ts). */
  readonly manifestCodes = new Map<string, PendingManifest>();
  baseUrl = "";

  readonly app: AppInfo;
  readonly now: () => Date;

  constructor(app: AppInfo, now: () => Date) {
    this.app = app;
    this.now = now;
  }

  get botLogin(): string { return `${this.app.slug}[bot]`; }

  user(login: string, init: Partial<Pick<SimUser, "name" | "email" | "type">> = {}): SimUser {
    const key = login.toLowerCase();
    let u = this.users.get(key);
    if (!u) {
      const type = init.type ?? (login.endsWith("[bot]") ? "Bot" : "User");
      const id = this.ids.next("user", 5000);
      u = {
        login, id, nodeId: this.ids.nodeId(type === "Organization" ? "O_" : type === "Bot" ? "BOT_" : "U_", id), type,
        name: init.name ?? login,
        email: init.email ?? `${id}+${login}@users.noreply.github.com`,
        createdAt: this.now(),
      };
      this.users.set(key, u);
    } else {
      if (init.name) u.name = init.name;
      if (init.email) u.email = init.email;
    }
    return u;
  }

  findUser(login: string): SimUser | undefined { return this.users.get(login.toLowerCase()); }

  org(login: string): SimUser {
    this.orgs.add(login.toLowerCase());
    if (!this.orgMembers.has(login.toLowerCase())) this.orgMembers.set(login.toLowerCase(), new Set());
    return this.user(login, { type: "Organization" });
  }

  isOrg(login: string): boolean { return this.orgs.has(login.toLowerCase()); }

  team(org: string, slug: string): Team | undefined { return this.teams.get(`${org}/${slug}`.toLowerCase()); }

  repo(owner: string, name: string): Repo {
    const r = this.repos.get(`${owner}/${name}`.toLowerCase());
    if (!r) throw new HttpError(404, "Not Found");
    return r;
  }

  installationFor(owner: string): Installation | undefined {
    for (const i of this.installations.values()) if (i.account.toLowerCase() === owner.toLowerCase()) return i;
    return undefined;
  }

  /** Effective repository permission: owner/org admin, direct collaborator, or via a team. */
  permission(repo: Repo, login: string): Permission | "none" {
    if (login.toLowerCase() === repo.owner.toLowerCase()) return "admin";
    let best: Permission | "none" = repo.collaborators.get(login.toLowerCase()) ?? "none";
    for (const [slug, perm] of repo.teamPermissions) {
      const member = this.team(repo.owner, slug)?.members.get(login.toLowerCase());
      if (member?.state === "active" && PERMISSION_RANK[perm] > PERMISSION_RANK[best]) best = perm;
    }
    return best;
  }

  authorAssociation(repo: Repo, login: string): "OWNER" | "MEMBER" | "COLLABORATOR" | "CONTRIBUTOR" | "NONE" {
    if (login.toLowerCase() === repo.owner.toLowerCase()) return "OWNER";
    if (this.orgMembers.get(repo.owner.toLowerCase())?.has(login.toLowerCase())) return "MEMBER";
    if (repo.collaborators.has(login.toLowerCase())) return "COLLABORATOR";
    return "NONE";
  }
}
