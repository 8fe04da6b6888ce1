// `jit report --since/--until`: a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time with Z or an
// offset, to ms since the epoch, without the Date global (the core takes time as data).
import { parseUtcTimestamp } from "./timestamp.ts";

const DATE_ONLY = /^(\d{4}-\d{2}-\d{2})$/;
const WITH_OFFSET = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([+-])(\d{2}):(\d{2})$/;

export function parseReportDate(s: string): number | null {
  const d = DATE_ONLY.exec(s);
  if (d) return parseUtcTimestamp(`${d[1]}T00:00:00Z`);
  const o = WITH_OFFSET.exec(s);
  if (o) {
    const base = parseUtcTimestamp(`${o[1]}Z`);
    const h = Number(o[3]);
    const m = Number(o[4]);
    if (base === null || h > 23 || m > 59) return null;
    return base - (o[2] === "+" ? 1 : -1) * (h * 60 + m) * 60_000;
  }
  return parseUtcTimestamp(s);
}

/** ms since the epoch as RFC 3339 UTC with milliseconds ("2026-11-01T00:00:00.000Z"). */
export function isoOfMs(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  // civil_from_days (H. Hinnant)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const h = Math.floor(rest / 3_600_000);
  const mi = Math.floor((rest % 3_600_000) / 60_000);
  const sec = Math.floor((rest % 60_000) / 1000);
  return `${p(y, 4)}-${p(m)}-${p(d)}T${p(h)}:${p(mi)}:${p(sec)}.${p(rest % 1000, 3)}Z`;
}
