import { InvalidOptionsError } from '../errors/invalid-options.error';
import type { Schedule, ScheduleInput } from '../interfaces/schedule.interface';
import { validateIdentifier } from '../redis/identifier';
import { canonicalJson } from './canonical-json';
import { definitionOf } from './stored-apply';

export interface SyncOptions {
  /** Every record must belong to this tenant; with removeMissing, its other schedules go. */
  tenantId?: string;
  /**
   * Remove the schedules of the synced tenants (`tenantId`, else every tenant the records name)
   * that the records do not list. @default false
   */
  removeMissing?: boolean;
}

export interface SyncResult {
  created: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/** What sync needs of SchedulerService. */
export interface SyncPort {
  list(tenantId: string): Promise<Schedule[]>;
  upsertMany(inputs: readonly ScheduleInput[]): Promise<Schedule[]>;
  remove(tenantId: string, id: string): Promise<boolean>;
}

/**
 * Makes the tenants' schedules what `records` say: upserts every record (an identical one changes
 * nothing and keeps its next fire time, so no schedule is missing for a moment and no fire time
 * runs twice), then, with removeMissing, removes the ones not listed. Idempotent; every pod may
 * call it at boot. Invalid input throws before anything is written (as upsertMany).
 */
export async function syncSchedules(
  port: SyncPort,
  records: readonly ScheduleInput[],
  options: SyncOptions = {},
): Promise<SyncResult> {
  if (!Array.isArray(records))
    throw new InvalidOptionsError('records', 'pass an array of schedules');
  const { tenantId, removeMissing = false } = options ?? {};
  if (tenantId !== undefined) validateIdentifier('tenantId', tenantId);
  if (typeof removeMissing !== 'boolean') {
    throw new InvalidOptionsError('sync option `removeMissing`', 'it must be true or false');
  }
  const tenants = new Set<string>(tenantId === undefined ? [] : [tenantId]);
  for (const [i, record] of records.entries()) {
    const t = record && typeof record === 'object' ? record.tenantId : undefined;
    if (tenantId !== undefined && t !== tenantId) {
      throw new InvalidOptionsError(
        `records[${i}].tenantId`,
        `${JSON.stringify(t)} is not the synced tenant ${JSON.stringify(tenantId)}`,
      );
    }
    validateIdentifier('tenantId', t);
    tenants.add(t);
  }
  const before = new Map<string, Schedule>();
  for (const t of tenants) for (const s of await port.list(t)) before.set(`${t}\u0000${s.id}`, s);
  const written = await port.upsertMany(records);
  const result: SyncResult = { created: 0, updated: 0, removed: 0, unchanged: 0 };
  const listed = new Set<string>();
  for (const schedule of written) {
    const key = `${schedule.tenantId}\u0000${schedule.id}`;
    listed.add(key);
    const old = before.get(key);
    if (!old) result.created++;
    else if (canonicalJson(definitionOf(old)) === canonicalJson(definitionOf(schedule)))
      result.unchanged++;
    else result.updated++;
  }
  if (removeMissing) {
    for (const t of tenants) {
      for (const s of await port.list(t)) {
        if (!listed.has(`${t}\u0000${s.id}`) && (await port.remove(t, s.id))) result.removed++;
      }
    }
  }
  return result;
}
