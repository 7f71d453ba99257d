import { unexpectedReply } from '../../errors/script-codes';
import type { OverlapPolicy } from '../../interfaces/schedule-policy.interface';
import type { ScheduleKeys } from '../key-space';
import { reason, type ScriptArg } from './codec';

/*
 * triggerRun-1.lua: one extra run of a schedule, due now, beside its series.
 */

/** Why a trigger was refused (nothing written). */
export type TriggerRefusal = 'running' | 'paused' | 'parked' | 'finished';

export type TriggerReply =
  /** `fireMs`: Redis time of the trigger; `id`: its run record's id ('n<number>'). */
  | { status: 'triggered'; fireMs: number; id: string }
  | { status: 'refused'; reason: TriggerRefusal }
  | { status: 'not-found' };

const REFUSALS: readonly string[] = [
  'running',
  'paused',
  'parked',
  'finished',
] satisfies TriggerRefusal[];

export function encodeTrigger(
  keys: ScheduleKeys,
  defaultOverlap: OverlapPolicy,
  wakeChannel: string,
): ScriptArg[] {
  return [keys.base, keys.member, defaultOverlap, wakeChannel];
}

export function decodeTrigger(reply: unknown[]): TriggerReply {
  const code = Number(reply[0]);
  if (code === 1) return { status: 'triggered', fireMs: Number(reply[1]), id: String(reply[2]) };
  if (code === 2 && REFUSALS.includes(String(reply[1]))) {
    return { status: 'refused', reason: String(reply[1]) as TriggerRefusal };
  }
  if (code === 2) throw unexpectedReply('triggerRun', reply);
  reason('triggerRun', code, ['not-found']);
  return { status: 'not-found' };
}
