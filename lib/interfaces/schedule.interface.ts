import type { HandlerPayload } from './schedule-handlers.interface';
import type { SchedulePolicy } from './schedule-policy.interface';

/**
 * The argument of SchedulerService.upsert(); policy fields not set fall back to the module's
 * defaultPolicy. When `handler` is a name declared in ScheduleHandlers, `payload` has the type
 * declared there; otherwise `TPayload`.
 */
export interface ScheduleInput<
  TPayload = unknown,
  THandler extends string = string,
> extends SchedulePolicy {
  tenantId: string;
  id: string;
  /**
   * 5-field (minute first) or 6-field (second first) cron expression. `H` in a field stands for
   * one value (or, as `H/20` and `H(0-29)`, one offset) drawn once per schedule from its identity
   * ('<tenantId>:<id>'), the same in every process. Exactly one of `cron`, `every` and `at` is set.
   */
  cron?: string;
  /**
   * A fixed interval: milliseconds, or a number with a unit ('500ms', '90s', '5m', '1h', '1d').
   * Fire times are anchor + k × every, the anchor being when the schedule was created (Redis
   * time); an upsert with the same `every` keeps the anchor. tenantGuards.minIntervalMs applies.
   */
  every?: number | string;
  /**
   * A one-off task: runs once at this time (a Date or an ISO 8601 string); one in the past runs
   * as soon as possible. Counts toward the tenant quota until it is done, then is kept for the
   * module's keepFinishedMs (state 'finished') and deleted.
   */
  at?: Date | string;
  /** IANA time zone of `cron` (ignored by `every` and `at`). @default the module's defaultTimeZone ('UTC') */
  timeZone?: string;
  /** Name given to @ScheduleHandler on the method that runs it. */
  handler: THandler;
  /** JSON-serialisable data handed to the handler. */
  payload?: HandlerPayload<THandler, TPayload>;
  /** @default the module's defaultJitterMs */
  jitterMs?: number;
  /** @default true */
  enabled?: boolean;
}

export type RunStatus = 'succeeded' | 'failed';

/**
 * 'active': armed at `nextFireAt`. 'paused': by `pause()` or `enabled: false`. 'parked': the engine
 * could not compute its fire times (cron-parser gives up on some expressions at some zones'
 * daylight-saving changes) and stopped it, with a dead letter; `resume()` or an upsert re-arms it.
 * 'finished': a one-off (`at`) that is done (succeeded, or failed for good), kept for
 * keepFinishedMs for inspection; an upsert of the same id creates it anew.
 */
export type ScheduleState = 'active' | 'paused' | 'parked' | 'finished';

/** Why and when the engine parked a schedule. */
export interface ParkedInfo {
  at: Date;
  reason: string;
}

/** The state of a @DistributedCron schedule as Redis holds it (what the last pod to boot wrote). */
export type StaticSchedule = Omit<
  Schedule<never>,
  'tenantId' | 'id' | 'handler' | 'payload' | 'tenantPaused'
> & {
  name: string;
};

/** A stored dynamic schedule, with the policy fields it sets itself. */
export interface Schedule<TPayload = unknown> extends SchedulePolicy {
  tenantId: string;
  id: string;
  /** The cron as written ('' for an interval or a one-off). */
  cron: string;
  /** The cron the schedule fires on: `cron` with each `H` drawn for this schedule; equal to `cron` without `H` ('' for an interval or a one-off). */
  resolvedCron: string;
  /** An interval's `every` as given (a number of ms, or the string given); absent otherwise. */
  every?: number | string;
  /** A one-off's `at` as given (a Date, or the ISO string given); absent otherwise. */
  at?: Date | string;
  timeZone: string;
  handler: string;
  payload: TPayload | undefined;
  jitterMs: number;
  /** Its own state (pause()/resume(), `enabled`), which resumeTenant() restores. */
  enabled: boolean;
  /** 'paused' while its tenant is paused too (`tenantPaused`). */
  state: ScheduleState;
  /** Its tenant is paused (pauseTenant()): it does not fire, whatever `enabled` says. */
  tenantPaused: boolean;
  /** Set while `state` is 'parked'. */
  parked: ParkedInfo | null;
  /** The next nominal fire time; null while paused (by itself or its tenant) or parked, and once a one-off is finished. */
  nextFireAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Nominal fire time of the last finished run, if any. */
  lastFireAt: Date | null;
  lastStatus: RunStatus | null;
  lastError: string | null;
  /** A run holds its lease right now. */
  running: boolean;
  /** Fire times passed over unrun so far (misfire and overlap policies). */
  skippedFires: number;
}
