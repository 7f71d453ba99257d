/**
 * The versioned SQL migrations of PostgresScheduleStore, applied in order at boot (unless
 * `migrate: false`) under a PostgreSQL advisory lock, each recorded in
 * `<schema>.schema_migrations`. `{schema}` stands for the quoted schema name. Never edit a
 * shipped migration: add the next one. README, "DB-backed schedules", prints them.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'schedules',
    sql: `
CREATE TABLE {schema}.schedules (
  tenant_id  text        NOT NULL,
  id         text        NOT NULL,
  -- The definition as upserted (cron, timeZone, handler, payload, jitterMs, enabled, policy);
  -- NULL once removed: a tombstone, so that the reconciler removes it from Redis too.
  definition jsonb,
  version    bigint      NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX schedules_updated_at ON {schema}.schedules (updated_at, tenant_id, id);
CREATE INDEX schedules_live_by_tenant ON {schema}.schedules (tenant_id) WHERE definition IS NOT NULL;
`,
  },
  {
    version: 2,
    name: 'runs',
    sql: `
-- Execution history, written in batches off the run path; pruned after historyRetentionDays.
CREATE TABLE {schema}.runs (
  tenant_id     text        NOT NULL, -- '' for a @DistributedCron schedule
  schedule_id   text        NOT NULL,
  fire_time     timestamptz NOT NULL,
  attempt       integer     NOT NULL,
  fencing_token bigint      NOT NULL,
  status        text        NOT NULL, -- 'succeeded' | 'failed' | 'retry'
  started_at    timestamptz,
  ended_at      timestamptz NOT NULL,
  duration_ms   integer,
  error         text,
  pod           text        NOT NULL,
  PRIMARY KEY (tenant_id, schedule_id, fire_time, attempt, fencing_token)
);
CREATE INDEX runs_ended_at ON {schema}.runs (ended_at);
-- The last fire time whose run completed (succeeded or failed for good), as the history reported it.
ALTER TABLE {schema}.schedules ADD COLUMN last_completed_fire_at timestamptz;
`,
  },
  {
    version: 3,
    name: 'tenants and finished one-offs',
    sql: `
-- Tenants paused with pauseTenant() (their schedules keep their own enabled flag).
CREATE TABLE {schema}.paused_tenants (
  tenant_id text        PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A one-off (at) whose run completed: out of the quota, never written to Redis again.
ALTER TABLE {schema}.schedules ADD COLUMN finished_at timestamptz;
`,
  },
  {
    version: 4,
    name: 'run results',
    sql: `
-- A run's result (what its handler returned, or what its error carried; at most 1 kB as JSON):
-- NULL for none, and for the runs recorded before this column.
ALTER TABLE {schema}.runs ADD COLUMN IF NOT EXISTS result jsonb;
`,
  },
  {
    version: 5,
    name: 'static pauses, interval anchors, run sequences',
    sql: `
-- @DistributedCron schedules paused with pauseStatic() (written back paused after a data loss).
CREATE TABLE {schema}.paused_statics (
  name      text        PRIMARY KEY,
  paused_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- An interval's (every) anchor: its fire times are anchor_at + k x every; NULL for the others.
ALTER TABLE {schema}.schedules ADD COLUMN anchor_at timestamptz;
-- When a run's row was written (its end reached PostgreSQL); NULL for runs recorded before (the
-- default set apart: a volatile default in ADD COLUMN would rewrite the whole table).
ALTER TABLE {schema}.runs ADD COLUMN recorded_at timestamptz;
ALTER TABLE {schema}.runs ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();
-- The run's sequence number among its schedule's runs, as Redis numbered it (every attempt
-- counted, from 1); 0 for runs recorded before this column. A constant default: no rewrite.
ALTER TABLE {schema}.runs ADD COLUMN sequence bigint NOT NULL DEFAULT 0;
`,
  },
];

/** The SQL of every migration for `schema` (already quoted), for users who set `migrate: false`. */
export function migrationSql(quotedSchema: string): string {
  return MIGRATIONS.map(
    (m) => `-- ${m.version}: ${m.name}\n${m.sql.replaceAll('{schema}', quotedSchema).trim()}\n`,
  ).join('\n');
}
