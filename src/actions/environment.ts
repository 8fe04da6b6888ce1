// What a GitHub Actions runner tells a job (docs: "Variables" and "Events that trigger workflows"):
// the event's name, the file holding its payload, the repository and the run. Only these are read;
// the payload routes (which PR, which push) and every decision is made from fresh API reads.
import { readFile } from "node:fs/promises";
import { problem, type Problem } from "../core/problem.ts";

export type ActionsJob = "check" | "grant" | "sweep";

/** The events each job accepts; anything else is a configuration error (exit 2), never a silent pass. */
export const JOB_EVENTS: Readonly<Record<ActionsJob, readonly string[]>> = {
  // pull_request_review runs the PR's own workflow: the generated review workflow holds no secret and
  // only starts workflow_run, which runs the default branch's workflow (docs/actions-mode.md).
  check: ["pull_request_target", "workflow_run", "workflow_dispatch"],
  grant: ["push", "workflow_dispatch"],
  sweep: ["schedule", "workflow_dispatch"],
};

export interface ActionsRun {
  job: ActionsJob;
  event: string;
  payload: Record<string, unknown>;
  repository: string;
  owner: string;
  repo: string;
  /** GITHUB_RUN_ID: re-runs of a run share it, so a re-run of a finished job changes nothing twice. */
  runId: string;
  sha: string | null;
  /** GITHUB_REF: the environment's branch rule is evaluated against it. */
  ref: string | null;
}

const REPOSITORY = /^([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/;
const MAX_EVENT_BYTES = 25 * 1024 * 1024; // GitHub's own webhook cap

/** Reads the run from the environment Actions provides; a Problem says what is missing or wrong. */
export async function readActionsRun(job: ActionsJob, env: NodeJS.ProcessEnv): Promise<ActionsRun | Problem> {
  const missing = ["GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"].filter((k) => !env[k]);
  if (missing.length) return problem("JIT_CONFIG_MISSING_ENV", `${missing.join(", ")} unset: \`jit actions\` runs inside a GitHub Actions job`);
  const event = env.GITHUB_EVENT_NAME!;
  if (!JOB_EVENTS[job].includes(event)) {
    return problem("JIT_ACTIONS_EVENT", `\`jit actions ${job}\` does not run on "${event}" (it runs on ${JOB_EVENTS[job].join(", ")})`);
  }
  const m = REPOSITORY.exec(env.GITHUB_REPOSITORY!);
  if (!m) return problem("JIT_CONFIG_INVALID", "GITHUB_REPOSITORY is not OWNER/NAME");
  let payload: unknown;
  try {
    const text = await readFile(env.GITHUB_EVENT_PATH!, "utf8");
    if (Buffer.byteLength(text) > MAX_EVENT_BYTES) throw new Error("larger than 25 MB");
    payload = JSON.parse(text);
  } catch (e) {
    return problem("JIT_CONFIG_INVALID", `GITHUB_EVENT_PATH cannot be read as the event's JSON: ${(e as Error).message}`);
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return problem("JIT_CONFIG_INVALID", "the event file is not a JSON object");
  // The app routes by the payload's repository: it must be the run's own (I10 at the edge).
  const named = (payload as { repository?: { full_name?: unknown } }).repository?.full_name;
  if (named !== undefined && (typeof named !== "string" || named.toLowerCase() !== env.GITHUB_REPOSITORY!.toLowerCase())) {
    return problem("JIT_CONFIG_INVALID", "the event names another repository than GITHUB_REPOSITORY");
  }
  return {
    job, event, payload: payload as Record<string, unknown>, repository: env.GITHUB_REPOSITORY!, owner: m[1]!, repo: m[2]!,
    runId: env.GITHUB_RUN_ID!, sha: env.GITHUB_SHA ?? null, ref: env.GITHUB_REF ?? null,
  };
}
