import type { Pool } from 'pg';
import type { StoredRun } from '../index';

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
  // One JSON parameter (JSON.stringify is native): per-element array parameters cost the pod far
  // more CPU at thousands of runs per second. Times travel as epoch ms.
  const rows = runs.map((r) => ({
    t: r.tenantId,
    s: r.scheduleId,
    f: r.fireTime.getTime(),
    a: r.attempt,
    k: r.fencingToken,
    st: r.status,
    b: r.startedAt === null ? null : r.startedAt.getTime(),
    e: r.endedAt.getTime(),
    d: r.durationMs,
    err: r.error,
    p: r.pod,
  }));
  await pool.query(
    `WITH batch AS (
       SELECT t, s, to_timestamp(f / 1000.0) AS fire_time, a, k, st,
              to_timestamp(b / 1000.0) AS started_at, to_timestamp(e / 1000.0) AS ended_at, d, err, p
         FROM json_to_recordset($1::json)
           AS u(t text, s text, f float8, a int, k bigint, st text, b float8, e float8, d int,
                err text, p text)
     ), inserted AS (
       INSERT INTO ${q}.runs SELECT * FROM batch ON CONFLICT DO NOTHING
     )
     UPDATE ${q}.schedules sc
        SET last_completed_fire_at = GREATEST(sc.last_completed_fire_at, c.fire_time),
            -- A one-off whose fire time completed is done (not one re-upserted at a later time).
            finished_at = CASE
              WHEN sc.definition ? 'at' AND (sc.definition->>'at')::timestamptz <= c.fire_time
              THEN coalesce(sc.finished_at, clock_timestamp()) ELSE sc.finished_at END
       FROM (SELECT t, s, max(fire_time) AS fire_time FROM batch
              WHERE st <> 'retry' GROUP BY t, s) c
      WHERE sc.tenant_id = c.t AND sc.id = c.s`,
    [JSON.stringify(rows)],
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
