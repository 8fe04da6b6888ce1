// The lost-merge reconciler's bookkeeping (src/jobs/lost-merges.ts): per access repository, every
// closed pull request last updated before the watermark has been handled.
import type { Queryable } from "./state.ts";

/** Merge reconciler watermark of a repository (null: never reconciled). */
export async function mergeWatermark(q: Queryable, repository: string): Promise<Date | null> {
  const { rows } = await q.query<{ watermark: Date }>("SELECT watermark FROM merge_watermarks WHERE repository = $1", [repository]);
  return rows[0]?.watermark ?? null;
}

/** Moves a repository's watermark forward (never back). */
export async function advanceMergeWatermark(q: Queryable, repository: string, to: Date): Promise<void> {
  await q.query(
    `INSERT INTO merge_watermarks (repository, watermark) VALUES ($1, $2)
     ON CONFLICT (repository) DO UPDATE SET watermark = greatest(merge_watermarks.watermark, EXCLUDED.watermark), updated_at = clock_timestamp()`,
    [repository, to]);
}

/** Whether a merged pull request has a recorded final outcome (src/usecases/merge-once.ts). */
export async function mergeRecorded(q: Queryable, key: string): Promise<boolean> {
  const { rows } = await q.query("SELECT 1 FROM outbox WHERE dedupe_key = $1 AND kind = 'merge'", [key]);
  return rows.length > 0;
}
