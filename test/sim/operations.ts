// The REST operations the simulator serves and the webhook events it sends. This list drives both
// scripts/extract-openapi.ts (what goes into the committed contract subset) and the router.

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface OperationDef {
  /** GitHub's operationId, e.g. "pulls/get". */
  readonly id: string;
  readonly method: HttpMethod;
  /** OpenAPI path template, e.g. "/repos/{owner}/{repo}/pulls/{pull_number}". */
  readonly path: string;
}

const op = (id: string, method: HttpMethod, path: string): OperationDef => ({ id, method, path });
const R = "/repos/{owner}/{repo}";

export const OPERATIONS: readonly OperationDef[] = [
  // GitHub App auth
  op("apps/get-authenticated", "GET", "/app"),
  op("apps/list-installations", "GET", "/app/installations"),
  op("apps/get-installation", "GET", "/app/installations/{installation_id}"),
  op("apps/create-installation-access-token", "POST", "/app/installations/{installation_id}/access_tokens"),
  op("apps/get-repo-installation", "GET", `${R}/installation`),
  op("apps/list-repos-accessible-to-installation", "GET", "/installation/repositories"),
  op("apps/create-from-manifest", "POST", "/app-manifests/{code}/conversions"),
  // repositories, branches, contents, collaborators, users
  op("repos/get", "GET", R),
  op("repos/list-branches", "GET", `${R}/branches`),
  op("repos/get-branch", "GET", `${R}/branches/{branch}`),
  op("repos/get-content", "GET", `${R}/contents/{path}`),
  op("repos/get-collaborator-permission-level", "GET", `${R}/collaborators/{username}/permission`),
  op("repos/compare-commits-with-basehead", "GET", `${R}/compare/{basehead}`),
  op("repos/list-pull-requests-associated-with-commit", "GET", `${R}/commits/{commit_sha}/pulls`),
  op("users/get-by-username", "GET", "/users/{username}"),
  // git data
  op("git/create-blob", "POST", `${R}/git/blobs`),
  op("git/get-blob", "GET", `${R}/git/blobs/{file_sha}`),
  op("git/create-tree", "POST", `${R}/git/trees`),
  op("git/get-tree", "GET", `${R}/git/trees/{tree_sha}`),
  op("git/create-commit", "POST", `${R}/git/commits`),
  op("git/get-commit", "GET", `${R}/git/commits/{commit_sha}`),
  op("git/create-ref", "POST", `${R}/git/refs`),
  op("git/get-ref", "GET", `${R}/git/ref/{ref}`),
  op("git/update-ref", "PATCH", `${R}/git/refs/{ref}`),
  op("git/delete-ref", "DELETE", `${R}/git/refs/{ref}`),
  // pull requests and reviews
  op("pulls/list", "GET", `${R}/pulls`),
  op("pulls/create", "POST", `${R}/pulls`),
  op("pulls/get", "GET", `${R}/pulls/{pull_number}`),
  op("pulls/update", "PATCH", `${R}/pulls/{pull_number}`),
  op("pulls/list-files", "GET", `${R}/pulls/{pull_number}/files`),
  op("pulls/list-commits", "GET", `${R}/pulls/{pull_number}/commits`),
  op("pulls/check-if-merged", "GET", `${R}/pulls/{pull_number}/merge`),
  op("pulls/merge", "PUT", `${R}/pulls/{pull_number}/merge`),
  op("pulls/list-reviews", "GET", `${R}/pulls/{pull_number}/reviews`),
  op("pulls/create-review", "POST", `${R}/pulls/{pull_number}/reviews`),
  op("pulls/get-review", "GET", `${R}/pulls/{pull_number}/reviews/{review_id}`),
  op("pulls/dismiss-review", "PUT", `${R}/pulls/{pull_number}/reviews/{review_id}/dismissals`),
  op("pulls/request-reviewers", "POST", `${R}/pulls/{pull_number}/requested_reviewers`),
  // checks
  op("checks/create", "POST", `${R}/check-runs`),
  op("checks/get", "GET", `${R}/check-runs/{check_run_id}`),
  op("checks/update", "PATCH", `${R}/check-runs/{check_run_id}`),
  op("checks/list-annotations", "GET", `${R}/check-runs/{check_run_id}/annotations`),
  op("checks/list-for-ref", "GET", `${R}/commits/{ref}/check-runs`),
  // issues, comments, labels
  op("issues/list-for-repo", "GET", `${R}/issues`),
  op("issues/create", "POST", `${R}/issues`),
  op("issues/get", "GET", `${R}/issues/{issue_number}`),
  op("issues/update", "PATCH", `${R}/issues/{issue_number}`),
  op("issues/list-comments", "GET", `${R}/issues/{issue_number}/comments`),
  op("issues/create-comment", "POST", `${R}/issues/{issue_number}/comments`),
  op("issues/update-comment", "PATCH", `${R}/issues/comments/{comment_id}`),
  op("issues/delete-comment", "DELETE", `${R}/issues/comments/{comment_id}`),
  op("issues/add-labels", "POST", `${R}/issues/{issue_number}/labels`),
  op("issues/list-labels-for-repo", "GET", `${R}/labels`),
  op("issues/create-label", "POST", `${R}/labels`),
  // teams
  op("teams/get-by-name", "GET", "/orgs/{org}/teams/{team_slug}"),
  op("teams/list-members-in-org", "GET", "/orgs/{org}/teams/{team_slug}/members"),
  op("teams/get-membership-for-user-in-org", "GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
];

/** Webhook keys in @octokit/openapi-webhooks (`<event>-<action>`, or the bare event name). */
export const WEBHOOK_KEYS = [
  "pull-request-opened",
  "pull-request-synchronize",
  "pull-request-reopened",
  "pull-request-closed",
  "pull-request-edited",
  "pull-request-review-submitted",
  "pull-request-review-dismissed",
  "push",
  "check-suite-requested",
  "check-suite-rerequested",
  "check-run-created",
  "check-run-rerequested",
  "check-run-completed",
  "installation-created",
] as const;

export type WebhookKey = (typeof WEBHOOK_KEYS)[number];
