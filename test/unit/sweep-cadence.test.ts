// Sweep cadence through DST changes of the process's local zone. node-cron 4.6.0 with
// `timezone: "UTC"` skips about an hour of ticks on the fall-back night when the process runs in a
// DST zone; the scheduler's own cadence (src/scheduler/cadence.ts) counts on epoch milliseconds and
// must tick every 30 s whatever the zone. This file runs in its own forked worker with TZ set to
// Europe/Berlin (asserted below), under a fake clock.
process.env.TZ = "Europe/Berlin";

import type pg from "pg";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextSlotDelay, startCadence } from "../../src/scheduler/cadence.ts";
import type { LeaderLock } from "../../src/scheduler/leader.ts";
import { startScheduler } from "../../src/scheduler/scheduler.ts";

const HOUR = 3_600_000;
const PERIOD = 30_000;
// Europe/Berlin leaves summer time at 2026-10-25 01:00 UTC (03:00 CEST -> 02:00 CET) and enters
// it at 2026-03-29 01:00 UTC (02:00 CET -> 03:00 CEST). Each window is 4 h around the change.
const FALL_BACK_NIGHT = new Date("2026-10-24T23:00:00Z");
const SPRING_FORWARD_NIGHT = new Date("2026-03-28T23:00:00Z");

afterEach(() => {
  vi.useRealTimers();
});

/** Ticks counted while a fake clock runs for `ms` from `start` (timers fire in order, promises flushed). */
async function countTicks(start: Date, ms: number, begin: (onTick: () => void) => () => void | Promise<void>): Promise<number> {
  vi.useFakeTimers({ now: start, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "clearImmediate", "Date"] });
  let ticks = 0;
  const stop = begin(() => { ticks++; });
  await vi.advanceTimersByTimeAsync(ms);
  await stop();
  return ticks;
}

describe("Sweep cadence: 30 s in any time zone", () => {
  it("runs in a zone that observes DST (the precondition of every test here)", () => {
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("Europe/Berlin");
    expect(new Date("2026-10-25T00:30:00Z").getTimezoneOffset()).toBe(-120);
    expect(new Date("2026-10-25T01:30:00Z").getTimezoneOffset()).toBe(-60);
  });

  it("Sweep cadence: 480 ticks over the 4 h of the fall-back night in Europe/Berlin", async () => {
    expect(await countTicks(FALL_BACK_NIGHT, 4 * HOUR, (onTick) => {
      const c = startCadence(PERIOD, onTick);
      return () => c.stop();
    })).toBe(480);
  });

  it("Sweep cadence: 480 ticks over the 4 h of the spring-forward night in Europe/Berlin", async () => {
    expect(await countTicks(SPRING_FORWARD_NIGHT, 4 * HOUR, (onTick) => {
      const c = startCadence(PERIOD, onTick);
      return () => c.stop();
    })).toBe(480);
  });

  it("Sweep cadence: the scheduler itself ticks 480 times over the fall-back night (reconcile and outbox ride these ticks)", async () => {
    // Follower replica: each tick asks for the leader lock, then reads health; nothing else runs.
    const counted = await countTicks(FALL_BACK_NIGHT, 4 * HOUR, (onTick) => {
      let acquires = 0;
      const leader = {
        isLeader: false, backendPid: null, lostReason: null,
        acquire: async () => { if (++acquires > 1) onTick(); return false; }, // the first is the start tick
        release: async () => {},
      } as unknown as LeaderLock;
      const state = { query: async () => { throw new Error("no state database in this test"); } } as unknown as pg.Pool;
      const log = { info() {}, warn() {}, error() {} };
      const s = startScheduler({ state, engines: { engine: () => { throw new Error("unused"); } }, policies: {} as never, log, leader });
      return () => s.stop();
    });
    expect(counted).toBe(480);
  });

  it("Sweep cadence: a wall clock stepped back an hour delays no tick by more than one period", async () => {
    vi.useFakeTimers({ now: FALL_BACK_NIGHT, toFake: ["setTimeout", "clearTimeout", "Date"] });
    const at: number[] = [];
    const c = startCadence(PERIOD, () => at.push(performance.now()));
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    vi.setSystemTime(Date.now() - HOUR); // NTP or a resumed VM: the wall clock jumps back
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    vi.setSystemTime(Date.now() + 2 * HOUR); // and forward: no burst of missed ticks
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    c.stop();
    expect(at).toHaveLength(40);
  });

  it("nextSlotDelay: slots of the epoch, never a wait of more than one period, never zero", () => {
    expect(nextSlotDelay(1_000, PERIOD, null)).toEqual({ slot: 1, delay: 29_000 });
    expect(nextSlotDelay(30_000, PERIOD, null)).toEqual({ slot: 2, delay: 30_000 });
    // fired a millisecond early for slot 5: the next is slot 6, waited for one period at most
    expect(nextSlotDelay(149_999, PERIOD, 5)).toEqual({ slot: 6, delay: 30_000 });
    // late by more than a period: skip to the next boundary, no burst
    expect(nextSlotDelay(1_000_000, PERIOD, 5)).toEqual({ slot: 34, delay: 20_000 });
    // wall clock far behind the last slot: one period
    expect(nextSlotDelay(0, PERIOD, 1_000)).toEqual({ slot: 1_001, delay: 30_000 });
    expect(() => startCadence(0, () => {})).toThrow(RangeError);
  });
});
