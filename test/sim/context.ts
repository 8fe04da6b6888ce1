// What domain operations need: the world (state) and the webhook dispatcher (side effects).
import type { WebhookDispatcher } from "./webhooks.ts";
import type { SimWorld } from "./world.ts";

export interface SimContext {
  w: SimWorld;
  hooks: WebhookDispatcher;
}
