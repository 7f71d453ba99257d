import type { PoolClient } from 'pg';
import type {
  ScheduleChange,
  ScheduleChangeResult,
  ScheduleDefinition,
  ScheduleWriteOptions,
  StoredScheduleRecord,
} from '../../index';
import { canonicalJson } from './canonical-json';

export interface Row {
  tenant_id: string;
  id: string;
  definition: ScheduleDefinition | null;
  version: string;
  updated_at: Date;
  finished_at: Date | null;
  last_completed_fire_at: Date | null;
  anchor_at: Date | null;
}

export const COLUMNS =
  'tenant_id, id, definition, version, updated_at, finished_at, last_completed_fire_at, anchor_at';

export function toRecord(row: Row): StoredScheduleRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    definition: row.definition,
    version: Number(row.version),
    updatedAt: row.updated_at,
    finished: row.finished_at !== null,
    lastCompletedFireAt: row.last_completed_fire_at,
    anchorAt: row.anchor_at,
  };
}

/**
 * write()'s transaction body: reads the rows (FOR UPDATE) and the tenants' live counts, decides each
 * change (the quota exactly, a finished one-off outside it), and writes the changed rows at once.
 */
export async function applyChanges(
  client: PoolClient,
  q: string,
  changes: readonly ScheduleChange[],
  tenants: string[],
  options: ScheduleWriteOptions,
): Promise<ScheduleChangeResult[]> {
  const key = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;
  const existing = await client.query<Row>(
    `SELECT ${COLUMNS} FROM ${q}.schedules
     WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[])) FOR UPDATE`,
    [changes.map((c) => c.tenantId), changes.map((c) => c.id)],
  );
  const state = new Map(existing.rows.map((row) => [key(row.tenant_id, row.id), toRecord(row)]));
  const counts = new Map<string, number>(tenants.map((t) => [t, 0]));
  const counted = await client.query<{ tenant_id: string; n: string }>(
    `SELECT tenant_id, count(*) AS n FROM ${q}.schedules
     WHERE tenant_id = ANY($1::text[]) AND definition IS NOT NULL AND finished_at IS NULL
     GROUP BY tenant_id`,
    [tenants],
  );
  for (const row of counted.rows) counts.set(row.tenant_id, Number(row.n));
  const dirty = new Map<
    string,
    { tenantId: string; id: string; def: ScheduleDefinition | null; keep: boolean }
  >();
  const statuses: ScheduleChangeResult['status'][] = changes.map((change) => {
    const k = key(change.tenantId, change.id);
    const current = state.get(k);
    const live = current?.definition ?? null;
    // A finished one-off is out of the quota; changed by an upsert, it counts again.
    const counted = live !== null && !current?.finished;
    let next: ScheduleDefinition | null;
    let status: ScheduleChangeResult['status'];
    if (change.kind === 'upsert') {
      if (live && canonicalJson(live) === canonicalJson(change.definition)) return 'unchanged';
      const count = counts.get(change.tenantId) ?? 0;
      const max = options.maxSchedulesPerTenant;
      if (!counted && max > 0 && count >= max) return 'refused';
      if (!counted) counts.set(change.tenantId, count + 1);
      [next, status] = [change.definition, live ? 'updated' : 'created'];
    } else if (!live) {
      return 'missing';
    } else if (change.kind === 'remove') {
      if (counted) counts.set(change.tenantId, (counts.get(change.tenantId) ?? 1) - 1);
      [next, status] = [null, 'removed'];
    } else {
      if (live.enabled === change.enabled) return 'unchanged';
      [next, status] = [{ ...live, enabled: change.enabled }, 'updated'];
    }
    state.set(k, {
      tenantId: change.tenantId,
      id: change.id,
      definition: next,
      version: (current?.version ?? 0) + 1,
      updatedAt: current?.updatedAt ?? new Date(0),
      finished: change.kind === 'setEnabled' && current?.finished,
    });
    const keep = change.kind === 'setEnabled';
    dirty.set(k, { tenantId: change.tenantId, id: change.id, def: next, keep });
    return status;
  });
  if (dirty.size > 0) {
    const rows = [...dirty.values()];
    const written = await client.query<Row>(
      // finished_at: kept by a pause/resume (k; 'epoch' only marks it, a new row never has k),
      // cleared by an upsert that changes the schedule. anchor_at: an interval's, now (in ms)
      // when it gets a new `every`, kept while `every` stays the same.
      `INSERT INTO ${q}.schedules AS s
         (tenant_id, id, definition, version, updated_at, finished_at, anchor_at)
       SELECT t, i, d, v, clock_timestamp(), CASE WHEN k THEN 'epoch'::timestamptz END,
              CASE WHEN d ? 'every' THEN date_trunc('milliseconds', clock_timestamp()) END
         FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::bigint[], $5::bool[])
           AS u(t, i, d, v, k)
       ON CONFLICT (tenant_id, id) DO UPDATE
         SET definition = excluded.definition, version = excluded.version,
             updated_at = excluded.updated_at,
             finished_at = CASE WHEN excluded.finished_at IS NOT NULL THEN s.finished_at END,
             anchor_at = CASE
               WHEN s.anchor_at IS NOT NULL AND s.definition -> 'every' = excluded.definition -> 'every'
               THEN s.anchor_at ELSE excluded.anchor_at END
       RETURNING ${COLUMNS}`,
      [
        rows.map((r) => r.tenantId),
        rows.map((r) => r.id),
        rows.map((r) => (r.def === null ? null : JSON.stringify(r.def))),
        rows.map((r) => state.get(key(r.tenantId, r.id))!.version),
        rows.map((r) => r.keep),
      ],
    );
    for (const row of written.rows) state.set(key(row.tenant_id, row.id), toRecord(row));
  }
  return statuses.map((status, i) => {
    const record = state.get(key(changes[i].tenantId, changes[i].id));
    return status === 'refused' || status === 'missing' ? { status } : { status, record };
  });
}
