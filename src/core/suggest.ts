// "Did you mean …?" for unknown names (fields, roles, databases): the closest candidate within a
// small edit distance. Pure; the inputs are names from policies and schemas, so they are short.

/** Levenshtein distance (insert, delete, substitute; each costs 1), in UTF-16 code units. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Names longer than this are never compared: nothing legitimate is, and the cost is quadratic. */
const MAX_COMPARED_LENGTH = 128;

/**
 * The candidate closest to `name` within `maxDistance` edits (case-insensitive), or null. Ties go to
 * the candidate that sorts first, so the answer does not depend on the order of the candidates.
 */
export function closestName(name: string, candidates: Iterable<string>, maxDistance = 2): string | null {
  if (name.length > MAX_COMPARED_LENGTH) return null;
  const wanted = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = maxDistance + 1;
  for (const c of [...candidates].sort()) {
    if (c === name || Math.abs(c.length - name.length) > maxDistance || c.length > MAX_COMPARED_LENGTH) continue;
    const d = editDistance(wanted, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** "did you mean `x`? " to put in front of a hint, or "" when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const c = closestName(name, candidates);
  return c === null ? "" : `did you mean \`${c}\`? `;
}
