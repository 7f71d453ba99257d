import type { Pool } from 'pg';
import type { RunColumns, StoredRun } from '../../index';

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
  result: unknown;
  sequence: string;
}

/** Raises each batch schedule's last completed fire time (and finishes a one-off that ran). */
const COMPLETED = (q: string) => `
     UPDATE ${q}.schedules sc
        SET last_completed_fire_at = GREATEST(sc.last_completed_fire_at, c.fire_time),
            -- A one-off whose fire time completed is done (not one re-upserted at a later time).
            finished_at = CASE
              WHEN sc.definition ? 'at' AND (sc.definition->>'at')::timestamptz <= c.fire_time
              THEN coalesce(sc.finished_at, clock_timestamp()) ELSE sc.finished_at END
       FROM (SELECT t, s, max(fire_time) AS fire_time FROM batch
              WHERE st <> 'retry' GROUP BY t, s) c
      WHERE sc.tenant_id = c.t AND sc.id = c.s`;

/**
 * Appends the runs in one statement (a run already stored is ignored) and raises each schedule's
 * last completed fire time. The columns travel as ONE jsonb parameter (`JSON.stringify`, native,
 * instead of node-postgres escaping every element of nine text arrays, the pod's main cost of
 * history) and are zipped back into rows by `ROWS FROM`. Each run keeps the sequence Redis gave it.
 */
export async function recordRunColumns(pool: Pool, q: string, c: RunColumns): Promise<void> {
  if (c.fireMs.length === 0) return;
  await pool.query(
    `WITH batch AS (
       SELECT t, s, to_timestamp(f::float8 / 1000.0) AS fire_time, a::int, k::bigint, st,
              CASE WHEN b::float8 > 0 THEN to_timestamp(b::float8 / 1000.0) END AS started_at,
              to_timestamp(e::float8 / 1000.0) AS ended_at,
              CASE WHEN b::float8 > 0 THEN (e::float8 - b::float8)::int END AS d, err,
              j ->> 'pod' AS p, r::jsonb AS r, q::bigint AS q
         FROM (SELECT $1::jsonb AS j) AS arg,
              ROWS FROM (jsonb_array_elements_text(j -> 'tenantIds'),
                         jsonb_array_elements_text(j -> 'scheduleIds'),
                         jsonb_array_elements_text(j -> 'fireMs'),
                         jsonb_array_elements_text(j -> 'attempts'),
                         jsonb_array_elements_text(j -> 'fencingTokens'),
                         jsonb_array_elements_text(j -> 'statuses'),
                         jsonb_array_elements_text(j -> 'startedMs'),
                         jsonb_array_elements_text(j -> 'endedMs'),
                         jsonb_array_elements_text(j -> 'errors'),
                         jsonb_array_elements_text(j -> 'results'),
                         jsonb_array_elements_text(j -> 'sequences'))
              AS u(t, s, f, a, k, st, b, e, err, r, q)
     ), inserted AS (
       INSERT INTO ${q}.runs (tenant_id, schedule_id, fire_time, attempt, fencing_token, status,
                              started_at, ended_at, duration_ms, error, pod, result, sequence)
       SELECT * FROM batch ON CONFLICT DO NOTHING
     )${COMPLETED(q)}`,
    // A result jsonb would refuse is kept as NULL (storableJson), not failing the batch.
    [columnsJson({ ...c, results: c.results.map(storableJson) })],
  );
}

/** JSON escapes PostgreSQL's text refuses: NUL, and a UTF-16 surrogate without its pair. */
const REFUSED_ESCAPE = /\\u(?:0000|d[89a-f])/i;

/**
 * The columns as JSON text. A string with NUL or a lone surrogate (rare: an error message) would
 * make jsonb refuse the whole batch: such strings go through UTF-8 (a lone surrogate becomes
 * U+FFFD, as in every other query's parameters) and lose their NULs. The test may also match an
 * escaped backslash followed by `u0000`; that only takes the slower path, with the same result.
 */
function columnsJson(c: RunColumns): string {
  const json = JSON.stringify(c);
  if (!REFUSED_ESCAPE.test(json)) return json;
  const clean = (v: string | null): string | null =>
    v === null ? null : Buffer.from(v, 'utf8').toString('utf8').replaceAll('\0', '');
  return JSON.stringify({
    ...c,
    pod: clean(c.pod),
    tenantIds: c.tenantIds.map(clean),
    scheduleIds: c.scheduleIds.map(clean),
    errors: c.errors.map(clean),
  });
}

/** recordRunColumns() from run objects (the ScheduleStore.recordRuns of the interface), per pod. */
export async function recordRuns(pool: Pool, q: string, all: readonly StoredRun[]): Promise<void> {
  const byPod = new Map<string, StoredRun[]>();
  for (const r of all) byPod.set(r.pod, [...(byPod.get(r.pod) ?? []), r]);
  for (const [pod, runs] of byPod) await recordRunColumns(pool, q, columnsOf(pod, runs));
}

function columnsOf(pod: string, runs: readonly StoredRun[]): RunColumns {
  return {
    pod,
    tenantIds: runs.map((r) => r.tenantId),
    scheduleIds: runs.map((r) => r.scheduleId),
    fireMs: runs.map((r) => r.fireTime.getTime()),
    attempts: runs.map((r) => r.attempt),
    fencingTokens: runs.map((r) => r.fencingToken),
    statuses: runs.map((r) => r.status),
    startedMs: runs.map((r) => (r.startedAt === null ? 0 : r.startedAt.getTime())),
    endedMs: runs.map((r) => r.endedAt.getTime()),
    errors: runs.map((r) => r.error),
    results: runs.map((r) => jsonOf(r.result)),
    sequences: runs.map((r) => r.sequence ?? 0),
  };
}

/** A StoredRun's result as JSON text; null for none or one that cannot be serialised. */
function jsonOf(result: unknown): string | null {
  if (result === undefined || result === null) return null;
  try {
    return JSON.stringify(result) ?? null;
  } catch {
    return null;
  }
}

/**
 * JSON that jsonb takes: it refuses the escape \u0000 and lone surrogates (\ud800-\udfff) that
 * JSON.stringify may write. Such a result is kept as NULL rather than failing the whole batch.
 */
function storableJson(json: string | null): string | null {
  return json !== null && /\\u(0000|d[89a-f])/i.test(json) ? null : json;
}

/**
 * The schedule's newest runs through the primary key, each with the sequence Redis gave it when it
 * was recorded (stored with the run: nothing counted per read, whatever the schedule's run count).
 */
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
    result: r.result,
    sequence: Number(r.sequence),
  }));
}

/** Deletes at most `limit` runs that ended before `endedBefore`. */
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
