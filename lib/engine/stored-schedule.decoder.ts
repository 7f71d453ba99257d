import type { DeadLetter } from '../interfaces/dead-letter.interface';
import type { RunRecord } from '../interfaces/run-record.interface';
import { parseResult } from './run-result';
import type {
  ParkedInfo,
  RunStatus,
  Schedule,
  ScheduleState,
  StaticSchedule,
} from '../interfaces/schedule.interface';
import { decodePolicy } from '../policy/schedule-policy';
import { usesHashes } from '../time/cron';
import { ScheduleTiming } from '../time/schedule-timing';
import { decodeSeries, IntervalSeries, OneOffSeries } from '../time/fire-series';

/**
 * Decodes what Redis stores about a schedule into what the API returns; pure. The fields of a
 * schedule hash: h handler key, t timing ('<cron>|<zone>|<jitter>', its cron with `H` resolved),
 * cw the cron as written when it differs from the timing's ('<written>|<timing's cron>', so that
 * a timing an older version rewrote is not shown with it), p payload, po policy, en '0' while
 * paused, pk '<parked at ms>:<reason>' while parked, nf next fire, nd next due (when not nf), rv
 * revision, ca / ua created / updated at (ua from the first update on), gn incarnation, r run
 * state and exactly-once mark (includes/runState.lua), l last run ('<outcome>:<fire>:<ended>'),
 * lm last error, sk fire times skipped, cr runs recorded, cf failed attempts (completeRuns-1.lua),
 * tp the schedule's own state ('1' | '0') while its tenant is paused (pauseTenant-1.lua), fx when a
 * one-off finished (ms; the hash then expires after keepFinishedMs). An interval's or a one-off's
 * timing holds '@every:<ms>:<anchor>' or '@at:<ms>' in place of a cron (fire-series.ts), and cw
 * then keeps `every` / `at` as written when it was text. A field at its default is absent (or '').
 */

/** What static and dynamic schedules share: timing, policy, and the last run. */
export type StoredScheduleState = Omit<StaticSchedule, 'name'>;

/** A hash that holds a schedule (HGETALL of a missing key gives {}). */
export function isSchedule(hash: Record<string, string> | null): hash is Record<string, string> {
  return Boolean(hash && hash.h && hash.t);
}

/** A dynamic schedule, or null when the hash holds none (or a static one). */
export function toSchedule(
  hash: Record<string, string>,
  tenantId: string,
  id: string,
  nowMs: number,
): Schedule | null {
  if (!isSchedule(hash) || !hash.h.startsWith('h:')) return null;
  const schedule: Schedule = {
    tenantId,
    id,
    handler: hash.h.slice(2),
    payload: hash.p ? (JSON.parse(hash.p) as unknown) : undefined,
    ...stateOf(hash, nowMs),
    tenantPaused: false,
  };
  // While its tenant is paused, 'tp' holds its own state ('1' | '0') and 'en' is '0'.
  if (hash.tp !== undefined) {
    schedule.tenantPaused = true;
    schedule.enabled = hash.tp === '1';
    schedule.state = schedule.parked ? 'parked' : 'paused';
    schedule.nextFireAt = null;
  }
  return schedule;
}

/** A @DistributedCron schedule, or null when the hash holds none. */
export function toStaticSchedule(
  hash: Record<string, string> | null,
  name: string,
  nowMs: number,
): StaticSchedule | null {
  if (!isSchedule(hash)) return null;
  return { name, ...stateOf(hash, nowMs) };
}

export function stateOf(hash: Record<string, string>, nowMs: number): StoredScheduleState {
  const enabled = hash.en !== '0';
  const parked = parseParked(hash.pk);
  const finished = Boolean(hash.fx);
  const state: ScheduleState = finished
    ? 'finished'
    : parked
      ? 'parked'
      : enabled
        ? 'active'
        : 'paused';
  const timing = splitTiming(hash.t);
  const series = decodeSeries(timing.cron);
  const last = parseLast(hash.l ?? '');
  const resolvedCron = usesHashes(timing.cron) ? legacyCron(hash.t) : timing.cron;
  const nextDue = Number(hash.nd || hash.nf);
  const [fire, attempt, fence] = (hash.r ?? '').split(':').map(Number);
  const written = writtenCron(hash.cw ?? '', timing.cron);
  return {
    ...(series ? seriesFields(series, written === timing.cron ? '' : written) : {}),
    cron: series ? '' : written,
    resolvedCron: series ? '' : resolvedCron,
    timeZone: timing.timeZone,
    jitterMs: timing.jitterMs,
    enabled,
    state,
    parked,
    nextFireAt: enabled && !finished ? new Date(Number(hash.nf)) : null,
    createdAt: new Date(Number(hash.ca)),
    updatedAt: new Date(Number(hash.ua ?? hash.ca)),
    lastFireAt: last.fireMs === null ? null : new Date(last.fireMs),
    lastStatus: last.status,
    lastError: hash.lm ? hash.lm : null,
    // Owned (fence > 0) and started: a reservation claimed ahead of its due time is not running yet.
    running: fence > 0 && attempt > 0 && (fire !== Number(hash.nf) || nextDue <= nowMs),
    skippedFires: Number(hash.sk ?? 0),
    ...decodePolicy(hash.po ?? ''),
  };
}

/** `every` / `at` as given: the text written, else the number of ms or the Date. */
function seriesFields(
  series: IntervalSeries | OneOffSeries,
  written: string,
): { every: number | string } | { at: Date | string } {
  if (series instanceof IntervalSeries) return { every: written || series.everyMs };
  return { at: written || new Date(series.atMs) };
}

/**
 * The cron as written, kept in 'cw' as '<written>|<timing's cron>' when the two differ; ignored
 * unless it was written for this timing (a version before `cw` rewrites only 't').
 */
function writtenCron(stored: string, timingCron: string): string {
  const at = stored.lastIndexOf('|');
  return at >= 0 && stored.slice(at + 1) === timingCron ? stored.slice(0, at) : timingCron;
}

/**
 * The fire-on expression of a timing stored before `H` was resolved at upsert (it still holds
 * `H`), as the pods draw it; the stored text if it cannot be decoded.
 */
function legacyCron(stored: string): string {
  try {
    return ScheduleTiming.decode(stored).series.expression;
  } catch {
    return splitTiming(stored).cron;
  }
}

/** The parts of a stored timing, as text (decoding the cron is not needed to show it). */
export function splitTiming(stored: string): { cron: string; timeZone: string; jitterMs: number } {
  const last = stored.lastIndexOf('|');
  const zoneAt = stored.lastIndexOf('|', last - 1);
  return {
    cron: stored.slice(0, zoneAt),
    timeZone: stored.slice(zoneAt + 1, last),
    jitterMs: Number(stored.slice(last + 1)) || 0,
  };
}

/** 'pk' is '<parked at ms>:<reason>' (completeRuns-1.lua, chain 'p'). */
export function parseParked(stored: string | undefined): ParkedInfo | null {
  if (!stored) return null;
  const colon = stored.indexOf(':');
  return { at: new Date(Number(stored.slice(0, colon))), reason: stored.slice(colon + 1) };
}

/** 'l' is '<outcome>:<fire ms>:<ended ms>', '' before the first finished run. */
export function parseLast(stored: string): { status: RunStatus | null; fireMs: number | null } {
  if (stored === '') return { status: null, fireMs: null };
  const [outcome, fire] = stored.split(':');
  return { status: toStatus(outcome), fireMs: Number(fire) };
}

function toStatus(value: string | undefined): RunStatus | null {
  return value === 'succeeded' || value === 'failed' ? value : null;
}

/**
 * A run history entry (completeRuns-1.lua): '<sequence>,<fire ms>,<attempt>,<fence>,<outcome>,
 * <started ms>,<ended ms>,<pod id>,<error>', the error last (it may hold ','), then a line with
 * the result's JSON when the run has one or its error holds a line break. An entry of an earlier
 * version has no such line: its result is null (a JSON-less last line is its error's).
 */
export function toRunRecord(entry: string): RunRecord {
  const line = entry.lastIndexOf('\n');
  let body = entry;
  let result: unknown = null;
  if (line >= 0) {
    const last = entry.slice(line + 1);
    const parsed = parseResult(last);
    if (last === '' || parsed !== null) {
      body = entry.slice(0, line);
      result = parsed;
    }
  }
  const parts = body.split(',');
  const [sequence, fire, attempt, fence, status, started, ended, podId] = parts;
  const error = parts.slice(8).join(',');
  const startedMs = Number(started);
  const endedMs = Number(ended);
  return {
    sequence: Number(sequence),
    fireTime: new Date(Number(fire)),
    attempt: Number(attempt),
    fencingToken: Number(fence),
    status: status as RunRecord['status'],
    startedAt: startedMs > 0 ? new Date(startedMs) : null,
    endedAt: new Date(endedMs),
    durationMs: startedMs > 0 ? Math.max(0, endedMs - startedMs) : null,
    podId: podId ?? '',
    error: error === '' ? null : error,
    result,
  };
}

/** The entries of a history HASH (a ring of slots), newest first, at most `limit` of them. */
export function toRunRecords(hash: Record<string, string>, limit = Infinity): RunRecord[] {
  return Object.values(hash)
    .map(toRunRecord)
    .sort((a, b) => b.sequence - a.sequence)
    .slice(0, limit);
}

/** A dead-letter entry: JSON with ISO dates (RunRecorder writes it). */
export function toDeadLetter(entry: string): DeadLetter {
  const raw = JSON.parse(entry) as Omit<DeadLetter, 'fireTime' | 'failedAt' | 'result'> & {
    fireTime: string;
    failedAt: string;
    result?: unknown;
  };
  // A dead letter of an earlier version has no result.
  return {
    ...raw,
    fireTime: new Date(raw.fireTime),
    failedAt: new Date(raw.failedAt),
    result: raw.result ?? null,
  };
}
