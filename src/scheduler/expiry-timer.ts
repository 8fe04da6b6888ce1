// The next-expiry timer: armed for the earliest future expires_at, with the delay computed by the
// state database (expires_at - now()), so the app's clock is never consulted. Only future expiries:
// an overdue grant whose revoke keeps failing is retried by the periodic tick, not in a tight loop.
import type pg from "pg";
import { msToNextExpiry } from "../db/health.ts";
import { timerDelay } from "./config.ts";

export class ExpiryTimer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Milliseconds the timer is armed for (null: not armed). */
  armedFor: number | null = null;
  private readonly state: pg.Pool;
  private readonly maxTimerMs: number;
  private readonly fire: () => void;

  constructor(state: pg.Pool, maxTimerMs: number, fire: () => void) {
    this.state = state;
    this.maxTimerMs = maxTimerMs;
    this.fire = fire;
  }

  /** Re-arms for the next expiry while this replica leads; a stop meanwhile leaves it unarmed. */
  async arm(o: { stopped: () => boolean; leader: () => boolean; also?: () => Promise<number | null> }): Promise<void> {
    if (o.stopped() || !o.leader()) return;
    // `also`: another next event on the same timer (a scheduled start, a break-glass deadline).
    const next = [await msToNextExpiry(this.state), (await o.also?.()) ?? null].filter((x): x is number => x !== null);
    const delay = timerDelay(next.length ? Math.min(...next) : null, this.maxTimerMs);
    this.clear();
    this.armedFor = delay;
    if (delay === null || o.stopped()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.armedFor = null;
      this.fire();
    }, delay);
    this.timer.unref();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
