// Public entry of the GitHub simulator (see docs/simulator.md).
export { GitHubSimulator, startGitHubSimulator, type SimulatorOptions, type SimulatorApp } from "./simulator.ts";
export { RepoScenario, type Files, type CommitSpec, type OpenPullOptions, type ReviewState } from "./scenario.ts";
export type { Delivery, DeliveryFilter, SignatureMode } from "./webhooks.ts";
export type { Fault, FaultSpec, RequestLogEntry } from "./faults.ts";
export type { ContractViolation } from "./contract.ts";
export type { CreateRepoOptions } from "./repos.ts";
export type { BranchProtection, Permission } from "./state.ts";
export { ZERO_SHA, type FileChange } from "./git-store.ts";
