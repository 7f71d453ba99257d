import type { Pool } from 'pg';
import type { StoredRun } from '../interfaces/schedule-store.interface';

interface RunRow {
  tenant_id: string;
  schedule_id: string;
  fire_time: Date;
  attempt: number;
  fencing_token: string;
  status: StoredRun['status'];
  started_at: Date | null;
  ended_at: Date;
  duration_ms: number | null;
  error: string | null;
  pod: string;
}

/** Appends the runs in one statement (a run already stored is ignored) and raises each
 * schedule's last completed fire time, in one transaction. */
export async function recordRuns(pool: Pool, q: string, runs: readonly StoredRun[]): Promise<void> {
  if (runs.length === 0) return;
  const col = <K extends keyof StoredRun>(k: K) => runs.map((r) => r[k]);
  await pool.query(
    `WITH batch AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::bigint[],
                            $6::text[], $7::timestamptz[], $8::timestamptz[], $9::int[], $10::text[],
                            $11::text[])
         AS b(tenant_id, schedule_id, fire_time, attempt, fencing_token, status, started_at,
              ended_at, duration_ms, error, pod)
     ), inserted AS (
       INSERT INTO ${q}.runs SELECT * FROM batch ON CONFLICT DO NOTHING
     )
     UPDATE ${q}.schedules s
        SET last_completed_fire_at = GREATEST(s.last_completed_fire_at, c.fire_time)
       FROM (SELECT tenant_id, schedule_id, max(fire_time) AS fire_time FROM batch
              WHERE status <> 'retry' GROUP BY tenant_id, schedule_id) c
      WHERE s.tenant_id = c.tenant_id AND s.id = c.schedule_id`,
    [
      col('tenantId'),
      col('scheduleId'),
      col('fireTime'),
      col('attempt'),
      col('fencingToken'),
      col('status'),
      col('startedAt'),
      col('endedAt'),
      col('durationMs'),
      col('error'),
      col('pod'),
    ],
  );
}

export async function runHistory(
  pool: Pool,
  q: string,
  tenantId: string,
  scheduleId: string,
  limit: number,
): Promise<StoredRun[]> {
  const { rows } = await pool.query<RunRow>(
    `SELECT * FROM ${q}.runs WHERE tenant_id = $1 AND schedule_id = $2
      ORDER BY fire_time DESC, attempt DESC, ended_at DESC LIMIT $3`,
    [tenantId, scheduleId, limit],
  );
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    scheduleId: r.schedule_id,
    fireTime: r.fire_time,
    attempt: r.attempt,
    fencingToken: Number(r.fencing_token),
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    error: r.error,
    pod: r.pod,
  }));
}

export async function pruneRuns(
  pool: Pool,
  q: string,
  endedBefore: Date,
  limit: number,
): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM ${q}.runs WHERE ctid IN (
       SELECT ctid FROM ${q}.runs WHERE ended_at < $1 LIMIT $2)`,
    [endedBefore, limit],
  );
  return rowCount ?? 0;
}
