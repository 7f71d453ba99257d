import type { SchedulerError } from '../../errors/scheduler.error';

/** One schedule of an upsertSchedules batch (see upsertSchedules-1.lua). */
export interface UpsertCall {
  member: string;
  id: string;
  handlerKey: string;
  timing: string;
  payload: string;
  policy: string;
  enabled: boolean;
  nextFireMs: number;
  nextDueMs: number;
  /**
   * '<cron as written>|<the timing's cron>' when they differ (it held `H`), '' or absent otherwise;
   * stored as is (field 'cw').
   */
  written?: string;
}

/** The tenant guards of an upsertSchedules batch (0: no limit) and the channel it wakes pods on. */
export interface UpsertGuards {
  maxPerTenant: number;
  maxPayloadBytes: number;
  wakeChannel: string;
}

/** A schedule upsertSchedules wrote. */
export interface UpsertedSchedule {
  status: 'created' | 'updated';
  nextFireMs: number;
  nextDueMs: number;
  createdAtMs: number;
  /** '<outcome>:<fire ms>:<ended ms>' or ''. */
  last: string;
  lastError: string;
  running: boolean;
  skippedFires: number;
  /** Its tenant is paused: it was stored paused, `enabled` kept as its own state for resumeTenant. */
  tenantPaused: boolean;
}

/** A schedule the tenant guards refused (nothing written): the error says which guard. */
export interface RefusedSchedule {
  status: 'refused';
  error: SchedulerError;
}

export type UpsertReply = UpsertedSchedule | RefusedSchedule;

/** A pause (enabled false) or resume; a resume arms the next fire time computed from `timing`. */
export interface EnableCall {
  enabled: boolean;
  nextFireMs: number;
  nextDueMs: number;
  /** The stored timing the next fire time was computed from ('' for a pause). */
  timing: string;
  /** A pause made at runtime (pauseStatic): kept when a pod declares the schedule again. */
  runtime?: boolean;
}

export type EnableReply =
  | { status: 'done'; nextFireMs: number; nextDueMs: number }
  | { status: 'not-found' }
  /** The timing changed since it was read (a concurrent upsert): read again and retry. */
  | { status: 'changed'; error: SchedulerError };
