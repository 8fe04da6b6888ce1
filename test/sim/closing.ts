// GitHub closes issues that a merged pull request names with a closing keyword ("fixes #1",
// "closes owner/repo#2", "resolves https://github.com/owner/repo/issues/3") when it merges into
// the default branch: in the PR body and in the commit messages it brings (the merge commit's
// message holds the PR title). References inside code spans and fences are not links and close
// nothing. The simulator does the same, so a test can see whether the app's words closed anything.
import type { SimContext } from "./context.ts";
import type { Repo } from "./state.ts";
import { HttpError } from "./world.ts";

const KEYWORD = String.raw`\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+`;
const REF = String.raw`(?:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+))?#(\d+)|https?:\/\/[^\s/]+\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\/issues\/(\d+)`;
const CLOSING = new RegExp(`${KEYWORD}(?:${REF})`, "gi");

/** Markdown without code fences and code spans, where GitHub links nothing. */
function outsideCode(text: string): string {
  return text.replace(/^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:\n {0,3}\1[^\n]*|$)/gm, " ").replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, " ");
}

export function closingReferences(text: string, home: Repo): { owner: string; name: string; number: number }[] {
  return [...outsideCode(text).matchAll(CLOSING)].map((m) => ({
    owner: m[1] ?? m[4] ?? home.owner, name: m[2] ?? m[5] ?? home.name, number: Number(m[3] ?? m[6]),
  }));
}

/** Closes the open issues (never pull requests) that `texts` name with a closing keyword. */
export function closeReferencedIssues(ctx: SimContext, home: Repo, texts: readonly string[], actor: string): void {
  for (const text of texts) {
    for (const ref of closingReferences(text, home)) {
      let repo: Repo;
      try {
        repo = ctx.w.repo(ref.owner, ref.name);
      } catch (e) {
        if (e instanceof HttpError) continue;
        throw e;
      }
      const issue = repo.issues.get(ref.number);
      if (!issue || issue.pull || issue.state !== "open") continue;
      const now = ctx.w.now();
      Object.assign(issue, { state: "closed", stateReason: "completed", closedAt: now, updatedAt: now, closedBy: actor });
    }
  }
}
