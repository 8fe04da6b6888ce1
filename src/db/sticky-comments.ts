// What the App last wrote as a pull request's sticky comment (src/github/sticky-comment.ts): the
// comment's id, which the App got from GitHub when it created or found its own comment, and a hash
// of the body. Nothing read here decides access; it only saves a list call and unchanged writes.
import type { Queryable } from "./state.ts";

export interface StickyRecord { commentId: number; bodySha256: string }

export interface StickyMemory {
  get(prNumber: number): Promise<StickyRecord | null>;
  set(prNumber: number, r: StickyRecord): Promise<void>;
  forget(prNumber: number, commentId: number): Promise<void>;
}

export function stickyMemory(q: Queryable, repository: string): StickyMemory {
  return {
    async get(prNumber) {
      const { rows } = await q.query<{ comment_id: string; body_sha256: string }>(
        "SELECT comment_id, body_sha256 FROM sticky_comments WHERE repository = $1 AND pr_number = $2", [repository, prNumber]);
      return rows[0] ? { commentId: Number(rows[0].comment_id), bodySha256: rows[0].body_sha256 } : null;
    },
    async set(prNumber, r) {
      await q.query(
        `INSERT INTO sticky_comments (repository, pr_number, comment_id, body_sha256) VALUES ($1, $2, $3, $4)
         ON CONFLICT (repository, pr_number) DO UPDATE SET comment_id = EXCLUDED.comment_id, body_sha256 = EXCLUDED.body_sha256, updated_at = clock_timestamp()`,
        [repository, prNumber, r.commentId, r.bodySha256]);
    },
    async forget(prNumber, commentId) {
      await q.query("DELETE FROM sticky_comments WHERE repository = $1 AND pr_number = $2 AND comment_id = $3", [repository, prNumber, commentId]);
    },
  };
}
