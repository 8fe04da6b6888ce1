// The scheduler's alerts go through the one alerter (usecases/alerting.ts); kept for its importers.
export { createAlerter, type Alerter } from "../usecases/alerting.ts";
export type { UseCaseLogger as SchedulerLogger } from "../usecases/context.ts";
