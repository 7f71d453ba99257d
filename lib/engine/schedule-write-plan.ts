import type { RunStatus } from '../interfaces/schedule.interface';
import type { ScheduleKeys } from '../redis/key-space';
import type { UpsertCall, UpsertReply } from '../redis/protocol/schedule-write.types';
import type { FireSeries, UnanchoredInterval } from '../time/fire-series';
import { ScheduleTiming } from '../time/schedule-timing';
import { withJitter } from './fire-planner';
import { parseLast } from './stored-schedule.decoder';

/*
 * What ScheduleStore.writeMany sends for one schedule and what it makes of the reply: the
 * schedule as validated (StoredDefinition), its upsertSchedules call (first fire time from Redis
 * time, the timing as stored) and the result, pure functions of their arguments.
 */

/** A schedule as the writer stores it, validated beforehand. */
export interface StoredDefinition {
  kind: 'static' | 'dynamic';
  keys: ScheduleKeys;
  tenantId: string;
  id: string;
  /**
   * What the timing stores and every pod fires on: a cron with its `H` resolved, a one-off, or
   * an interval, anchored here (at creation, or at the stored anchor when `every` is unchanged).
   */
  series: FireSeries | UnanchoredInterval;
  /**
   * The cron, `every` or `at` as the user wrote it, '' for a number or a Date (kept beside the
   * timing when it differs from the stored expression: a cron that held `H`, '5m', an ISO string).
   */
  written: string;
  jitterMs: number;
  payloadJson: string;
  enabled: boolean;
  /** The schedule's own policy fields (JSON), '' for none. */
  policyJson: string;
  /** A schedule Redis lost, written back: armed after its last completed fire time (misfire). */
  armAfterMs?: number;
}

export interface WriteResult {
  created: boolean;
  nextFireMs: number;
  nextDueMs: number;
  createdAtMs: number;
  updatedAtMs: number;
  enabled: boolean;
  lastFireMs: number | null;
  lastStatus: RunStatus | null;
  lastError: string | null;
  running: boolean;
  skippedFires: number;
  /** Its tenant is paused: stored paused, `enabled` kept as its own state. */
  tenantPaused: boolean;
}

/** The upsertSchedules entry of a definition whose series is anchored, at Redis time `now`. */
export function upsertCall(def: StoredDefinition, series: FireSeries, now: number): UpsertCall {
  const after = def.armAfterMs === undefined ? Infinity : series.nextAfter(def.armAfterMs);
  const from = after < now ? after : series.firstFrom(now);
  const first = withJitter(series, def.keys.member, def.jitterMs, from);
  return {
    member: def.keys.member,
    id: def.id,
    handlerKey: def.keys.handlerKey,
    timing: ScheduleTiming.of(series, def.jitterMs).stored,
    payload: def.payloadJson,
    policy: def.policyJson,
    enabled: def.enabled,
    nextFireMs: first.fireMs,
    nextDueMs: first.dueMs,
    written:
      def.written === '' || def.written === series.expression
        ? ''
        : `${def.written}|${series.expression}`,
  };
}

export function toResult(
  def: StoredDefinition,
  reply: UpsertReply,
  nowMs: number,
): WriteResult | Error {
  if (reply.status === 'refused') return reply.error;
  const last = parseLast(reply.last);
  return {
    created: reply.status === 'created',
    nextFireMs: reply.nextFireMs,
    nextDueMs: reply.nextDueMs,
    createdAtMs: reply.createdAtMs,
    updatedAtMs: nowMs,
    enabled: def.enabled,
    lastFireMs: last.fireMs,
    lastStatus: last.status,
    lastError: reply.lastError === '' ? null : reply.lastError,
    running: reply.running,
    skippedFires: reply.skippedFires,
    tenantPaused: reply.tenantPaused,
  };
}
