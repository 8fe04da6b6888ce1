// One sweeper at a time across replicas: a session-level PostgreSQL advisory lock held on a
// connection of its own (its SQL in src/db/leader-lock.ts). Advisory locks belong to a connection, and a pool lands on any
// connection, so the lock is never taken through the pool. The lock connection can die (network,
// pg_terminate_backend, a failover) while this process keeps running and another replica takes the
// lock: every side effect is preceded by stillLeader(), which asks the server whether THIS
// connection still holds the lock, and a leader that cannot prove it stops (JIT_LEADER_LOST).
import { JitError } from "../core/errors.ts";
import type pg from "pg";
import { advisoryUnlock, holdsAdvisoryLock, LOCK_CLASS, tryAdvisoryLock } from "../db/leader-lock.ts";
import { dedicatedClient } from "../db/state.ts";

export { LOCK_CLASS };
export const LEADER_OBJECT = 1;

export class LeaderLostError extends JitError {
  constructor(reason: string) {
    super("JIT_LEADER_LOST", `the sweeper lost its leader lock: ${reason}`);
  }
}

export interface Leadership {
  /** Throws LeaderLostError unless the lock is provably still held, on the server, right now. */
  assertLeader(): Promise<void>;
}

export interface LeaderLockOptions {
  /** Opens the dedicated connection (default: a new pg.Client with the pool's settings). */
  connect: () => Promise<pg.Client>;
  /** Lock object within LOCK_CLASS; tests use another one per scenario. */
  object?: number;
  /** A re-check that takes longer than this counts as lost (a hung connection proves nothing). */
  checkTimeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class LeaderLock implements Leadership {
  #client: pg.Client | null = null;
  #pid: number | null = null;
  #lostReason: string | null = null;
  #checking: Promise<unknown> = Promise.resolve();
  readonly object: number;
  readonly #checkTimeoutMs: number;

  private readonly opts: LeaderLockOptions;

  constructor(opts: LeaderLockOptions) {
    this.opts = opts;
    this.object = opts.object ?? LEADER_OBJECT;
    this.#checkTimeoutMs = opts.checkTimeoutMs ?? 5000;
  }

  /** A lock whose dedicated connection uses the same settings as the state pool (not one of its slots). */
  static forPool(pool: pg.Pool, object?: number): LeaderLock {
    return new LeaderLock({ connect: async () => {
      const c = dedicatedClient(pool, "jit-access leader");
      await c.connect();
      return c;
    }, ...(object !== undefined ? { object } : {}) });
  }

  /** Last known state, without asking the server (for logs and health). */
  get isLeader(): boolean {
    return this.#client !== null;
  }

  /** Backend pid of the lock connection while leader (operators and tests can find it). */
  get backendPid(): number | null {
    return this.#pid;
  }

  get lostReason(): string | null {
    return this.#lostReason;
  }

  /** Becomes leader if nobody else is; true while leader. Never waits for the lock. */
  async acquire(): Promise<boolean> {
    if (this.#client) {
      if (await this.stillLeader()) return true;
    }
    const client = await this.opts.connect();
    // A checked-out connection that dies emits "error"; without a listener that would crash the
    // process. Losing it simply means losing leadership, which stillLeader() will report.
    client.on("error", (e: Error) => {
      if (this.#client === client) this.#lostReason = `lock connection failed: ${e.message}`;
    });
    try {
      const taken = await withTimeout(tryAdvisoryLock(client, this.object), this.#checkTimeoutMs, "taking the leader lock");
      if (!taken.ok) {
        await client.end().catch(() => {});
        return false;
      }
      this.#client = client;
      this.#pid = taken.pid;
      this.#lostReason = null;
      return true;
    } catch (e) {
      await client.end().catch(() => {});
      throw e;
    }
  }

  /**
   * Asks the server whether this connection holds the lock now. False (and the connection dropped)
   * on any doubt. Concurrent callers queue: each gets an answer from a query sent after it asked.
   */
  stillLeader(): Promise<boolean> {
    const next = this.#checking.then(() => this.#check());
    this.#checking = next.catch(() => false);
    return next;
  }

  async #check(): Promise<boolean> {
    const client = this.#client;
    if (!client) return false;
    try {
      if (await withTimeout(holdsAdvisoryLock(client, this.object), this.#checkTimeoutMs, "checking the leader lock")) return true;
      this.#lostReason = "the lock is no longer held by this connection";
    } catch (e) {
      this.#lostReason ??= `lock connection unusable: ${(e as Error).message}`;
    }
    await this.#drop();
    return false;
  }

  async assertLeader(): Promise<void> {
    if (!(await this.stillLeader())) throw new LeaderLostError(this.#lostReason ?? "not the leader");
  }

  /** Gives the lock up (on shutdown): closing the connection releases it on the server. */
  async release(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await withTimeout(advisoryUnlock(client, this.object), 2000, "unlocking").catch(() => {});
    await this.#drop();
  }

  async #drop(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    this.#pid = null;
    if (client) await withTimeout(client.end(), 2000, "closing the lock connection").catch(() => {});
  }
}

/** For sweepers that need no leader (`jit expire`): row claims alone keep them apart. */
export const NO_LEADER: Leadership = { assertLeader: async () => {} };
