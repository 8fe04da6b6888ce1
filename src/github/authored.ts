// "Did this GitHub App write it?" for comments and issues found by a hidden marker. A marker is
// plain text anyone can type, and any bot (another App, github-actions) is a `Bot` user: only
// GitHub's `performed_via_github_app`, which no one else can set, ties an item to this App.

export interface Authored {
  user?: { type?: string } | null;
  performed_via_github_app?: { id?: number } | null;
}

/** True only for an item GitHub says this App (`appId`) made; without an app id, nothing is ours. */
export function madeByApp(item: Authored, appId: number | undefined): boolean {
  return appId !== undefined && item.user?.type === "Bot" && item.performed_via_github_app?.id === appId;
}
