// The sweep cadence: a self-rescheduling timer on slots of the epoch (UTC milliseconds), so every
// replica ticks at :00 and :30 like a cron schedule would, without a cron library. node-cron 4.6.0
// with `timezone: "UTC"` still computes slots through the process's local time and skips about an
// hour of ticks on the DST fall-back night; epoch milliseconds have no zone, so nothing here can.
// Each wait is clamped to one period: a wall clock stepped backwards (NTP, a VM resumed) delays a
// tick by at most one period, and a slot missed while the event loop was blocked is skipped, not
// replayed in a burst (sweeps are level-triggered: the next one catches up).

export interface CadenceClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Late-bound, so fake timers installed after import are honoured.
const realClock: CadenceClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface Cadence {
  stop(): void;
}

/** Milliseconds from `nowMs` to the slot after `lastSlot` (or the next slot boundary), within (0, periodMs]. */
export function nextSlotDelay(nowMs: number, periodMs: number, lastSlot: number | null): { slot: number; delay: number } {
  let slot = lastSlot === null ? Math.floor(nowMs / periodMs) + 1 : lastSlot + 1;
  // Late by a whole period or more: skip to the next boundary after now.
  if (slot * periodMs <= nowMs) slot = Math.floor(nowMs / periodMs) + 1;
  return { slot, delay: Math.min(periodMs, Math.max(1, slot * periodMs - nowMs)) };
}

/** Calls `onTick` once per `periodMs` slot of the epoch until stopped. */
export function startCadence(periodMs: number, onTick: () => void, clock: CadenceClock = realClock): Cadence {
  if (!Number.isSafeInteger(periodMs) || periodMs <= 0) throw new RangeError("the sweep period must be a positive whole number of milliseconds");
  let stopped = false;
  let handle: unknown = null;
  let lastSlot: number | null = null;
  const arm = () => {
    const { slot, delay } = nextSlotDelay(clock.now(), periodMs, lastSlot);
    handle = clock.setTimeout(() => {
      handle = null;
      if (stopped) return;
      // Counted as the slot it was armed for, even if the timer fired a millisecond early.
      lastSlot = slot;
      arm();
      onTick();
    }, delay);
  };
  arm();
  return {
    stop() {
      stopped = true;
      if (handle !== null) clock.clearTimeout(handle);
      handle = null;
    },
  };
}
