import { toSchedulerError } from '../../errors/script-codes';
import type { SchedulerError } from '../../errors/scheduler.error';
import { parseMember, type ScheduleKeys } from '../key-space';
import { reason, type ScriptArg } from './codec';
import type {
  EnableCall,
  EnableReply,
  UpsertCall,
  UpsertGuards,
  UpsertReply,
} from './schedule-write.types';

/*
 * The scripts that write schedules: upsertSchedules-1.lua, removeSchedule-3.lua, setEnabled-2.lua
 * and clearDeadLetters-1.lua. A refusal the caller must see becomes its SchedulerError here,
 * through toSchedulerError, with the figures of the call.
 */

const UPSERT_FIELDS = 9;

export function encodeUpserts(
  base: string,
  guards: UpsertGuards,
  batch: readonly UpsertCall[],
): ScriptArg[] {
  const args: ScriptArg[] = [
    base,
    guards.maxPerTenant,
    guards.maxPayloadBytes,
    guards.wakeChannel,
    batch.length,
  ];
  for (const s of batch) {
    args.push(
      s.member,
      s.id,
      s.handlerKey,
      s.timing,
      s.payload,
      s.policy,
      s.enabled ? '1' : '0',
      s.nextFireMs,
      s.nextDueMs,
      s.written ?? '',
    );
  }
  return args;
}

/** The Redis time of the call and one reply per schedule of `batch`, in order. */
export function decodeUpserts(
  reply: ScriptArg[],
  batch: readonly UpsertCall[],
  guards: UpsertGuards,
): { nowMs: number; replies: UpsertReply[] } {
  const count = (reply.length - 1) / UPSERT_FIELDS;
  const replies: UpsertReply[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const o = 1 + i * UPSERT_FIELDS;
    const code = Number(reply[o]);
    if (code !== 0 && code !== 1) {
      replies[i] = {
        status: 'refused',
        error: refusal(code, Number(reply[o + 1]), batch[i], guards),
      };
      continue;
    }
    replies[i] = {
      status: code === 1 ? 'created' : 'updated',
      nextFireMs: Number(reply[o + 1]),
      nextDueMs: Number(reply[o + 2]),
      createdAtMs: Number(reply[o + 3]),
      last: String(reply[o + 4]),
      lastError: String(reply[o + 5]),
      running: Number(reply[o + 6]) === 1,
      skippedFires: Number(reply[o + 7]),
      tenantPaused: Number(reply[o + 8]) === 1,
    };
  }
  return { nowMs: Number(reply[0]), replies };
}

/** A schedule the tenant guards refused, as the error it stands for. */
function refusal(
  code: number,
  detail: number,
  call: UpsertCall,
  guards: UpsertGuards,
): SchedulerError {
  const refused = reason('upsertSchedules', code, ['tenant-quota-exceeded', 'payload-too-large']);
  return toSchedulerError(code, {
    tenantId: parseMember(call.member).tenantId,
    limit: refused === 'tenant-quota-exceeded' ? guards.maxPerTenant : guards.maxPayloadBytes,
    detail,
  });
}

/** Removes a dynamic schedule `id` (its keys built by KeySpace.dynamicSchedule). */
export function encodeRemoval(keys: ScheduleKeys, id: string, wakeChannel: string): ScriptArg[] {
  return [keys.hash, keys.tenantSet, keys.base, id, keys.member, wakeChannel];
}

/** True when the schedule was removed, false when there was none. */
export function decodeRemoval(reply: number): boolean {
  return reply === 1 || reason('removeSchedule', reply, ['not-found']) !== 'not-found';
}

export function encodeEnable(
  keys: ScheduleKeys,
  call: EnableCall,
  wakeChannel: string,
): ScriptArg[] {
  return [
    keys.hash,
    keys.base,
    call.enabled ? '1' : '0',
    call.nextFireMs,
    call.nextDueMs,
    wakeChannel,
    keys.member,
    call.timing,
    call.runtime ? '1' : '',
  ];
}

/** `keys`: the schedule's, for the error of a resume that met a concurrent change. */
export function decodeEnable(reply: number[], keys: ScheduleKeys): EnableReply {
  const code = Number(reply[0]);
  if (code === 1) {
    return { status: 'done', nextFireMs: Number(reply[1]), nextDueMs: Number(reply[2]) };
  }
  if (reason('setEnabled', code, ['not-found', 'changed']) === 'not-found') {
    return { status: 'not-found' };
  }
  const { tenantId = '', id } = parseMember(keys.member);
  return { status: 'changed', error: toSchedulerError(code, { tenantId, scheduleId: id }) };
}

/** The entries of one tenant ('' for every entry) of a dead-letter list. */
export function encodeDeadLetterClear(list: string, tenantId: string): ScriptArg[] {
  return [list, tenantId];
}

/** How many entries were removed. */
export function decodeDeadLetterClear(reply: number): number {
  return Number(reply);
}
