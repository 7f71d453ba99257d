/**
 * One row of the bench table: what one implementation did on one case (a workload at a size).
 * Filled by the runner (./run.ts), read by the table, the targets (./targets.ts) and the JSON.
 */
import type { Figures } from './metrics';
import type { ProfileSummary } from './profile';
import type { WorkloadParams } from './workloads';

export interface PodStart {
  pid: number;
  forkToReadyMs: number;
  bootMs: number;
  rssReadyMb: number;
}

export interface IdleFigures {
  seconds: number;
  podRssMb: number[];
  podCpuMsPerSec: number;
  redisCpuMsPerSec: number;
  redisCommandsPerSec: number;
  /** Handler starts while nothing was due (should be 0). */
  starts: number;
}

export interface Row {
  case: string;
  workload: string;
  schedules: number;
  impl: string;
  version?: string;
  params: WorkloadParams;
  registered: number;
  registerMs: number;
  /** schedules/s over the store time (ImplSetup's storeMs, else the whole register call). */
  registerRate: number;
  /** (used_memory after registration − before) / registered. */
  bytesPerSchedule: number;
  redisUsedMemoryMb: number;
  pods: PodStart[];
  /** Median fork → ready over the pods (process start, module loading, worker boot). */
  startMs: number;
  /** Median time in the implementation's factory (worker boot only). */
  bootMs: number;
  window?: { startMs: number; endMs: number; seconds: number };
  figures?: Figures;
  idle?: IdleFigures;
  podErrors: string[];
  profiles?: ProfileSummary[];
  /**
   * Per Redis node (one on a single server, every master of a cluster), for the measured window:
   * implementation commands, CPU ms and used_memory at its end — how the load spread over shards.
   */
  redisNodes?: Array<{ node: string; commands: number; cpuMs: number; usedMemoryMb: number }>;
  notes: string[];
  error?: string;
  /** Not run by default, and why (skipReason); the row has no figures. */
  skipped?: string;
  /** Seconds of the grace actually waited (a herd's ends early once every run started). */
  graceUsedS?: number;
}

/** A row that ran to the end (neither failed nor skipped). */
export const measured = (r: Row): boolean => !r.error && !r.skipped;
