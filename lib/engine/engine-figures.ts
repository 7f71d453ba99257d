/** What the engine of this pod is doing, read by SchedulerMonitor (cheap: no Redis call). */
export interface EngineFigures {
  /** Whether the claim loop runs (a worker pod with handlers, between bootstrap and shutdown). */
  claiming: boolean;
  /** Wall-clock ms when the claim loop last completed a tick (a claim, or a wait for a slot); 0: never. */
  lastTickAtMs: number;
  /** Handlers running on this pod. */
  runsInFlight: number;
  /** Runs reserved ahead of their due time by this pod, not started yet. */
  reservedRuns: number;
}
