import { Pool, type PoolClient } from 'pg';
import type {
  ScheduleChange,
  ScheduleChangeResult,
  ScheduleDefinition,
  ScheduleStore,
  ScheduleWatermark,
  ScheduleWriteOptions,
  StoredRun,
  StoredScheduleRecord,
} from '../index';
import { InvalidOptionsError } from '../index';
import { pruneRuns, recordRuns, runHistory } from './postgres-runs';
import { LOCK_NAMESPACE, migrate } from './migrate';
import { migrationSql } from './migrations';
import { canonicalJson } from './canonical-json';

export interface PostgresScheduleStoreOptions {
  /** `postgres://user:password@host:5432/db`; the store opens (and closes) its own pool. */
  connectionString?: string;
  /** Or a pg Pool of yours (not closed by the store). */
  pool?: Pool;
  /** Schema holding the tables: lower-case letters, digits and `_`, 63 at most. @default 'rsched' */
  schema?: string;
  /** false: the tables are yours to create (`PostgresScheduleStore.migrationSql(schema)`). @default true */
  migrate?: boolean;
  /** How long a write waits for a connection before it fails (database down). @default 3_000 */
  connectionTimeoutMs?: number;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

interface Row {
  tenant_id: string;
  id: string;
  definition: ScheduleDefinition | null;
  version: string;
  updated_at: Date;
}

const COLUMNS = 'tenant_id, id, definition, version, updated_at';

function toRecord(row: Row): StoredScheduleRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    definition: row.definition,
    version: Number(row.version),
    updatedAt: row.updated_at,
  };
}

/**
 * ScheduleStore on PostgreSQL through node-postgres (`pg` 8). Tables live in `schema` (default
 * 'rsched'), created by versioned migrations at init() under an advisory lock. Writes of one
 * tenant are serialised across processes by a session-level advisory lock on (package, schema,
 * tenant) held from before the transaction until Redis has been written.
 */
export class PostgresScheduleStore implements ScheduleStore {
  readonly schema: string;
  private readonly quoted: string;
  private readonly pool: Pool;
  private readonly ownsPool: boolean;
  private readonly runMigrations: boolean;

  constructor(options: PostgresScheduleStoreOptions) {
    if (!options || typeof options !== 'object' || (!options.connectionString && !options.pool)) {
      throw new InvalidOptionsError(
        'PostgresScheduleStore options',
        "pass `connectionString` ('postgres://user@host:5432/db') or a pg `pool`",
      );
    }
    this.schema = PostgresScheduleStore.validSchema(options.schema ?? 'rsched');
    this.quoted = `"${this.schema}"`;
    this.runMigrations = options.migrate ?? true;
    this.ownsPool = !options.pool;
    this.pool =
      options.pool ??
      new Pool({
        connectionString: options.connectionString,
        connectionTimeoutMillis: options.connectionTimeoutMs ?? 3_000,
        max: 10,
      });
    // An idle client losing its server (database restarted) must not crash the process.
    if (this.ownsPool) this.pool.on('error', () => undefined);
  }

  /** The SQL of every migration, for `migrate: false` (the schema name is validated). */
  static migrationSql(schema = 'rsched'): string {
    return migrationSql(`"${PostgresScheduleStore.validSchema(schema)}"`);
  }

  private static validSchema(schema: unknown): string {
    if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
      throw new InvalidOptionsError(
        'PostgresScheduleStore option `schema`',
        `${JSON.stringify(schema)} must be 1 to 63 lower-case letters, digits or "_", not starting with a digit`,
      );
    }
    return schema;
  }

  async init(): Promise<void> {
    if (this.runMigrations) await migrate(this.pool, this.schema, this.quoted);
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }

  async write<T>(
    changes: readonly ScheduleChange[],
    options: ScheduleWriteOptions,
    afterCommit: (results: ScheduleChangeResult[]) => Promise<T>,
  ): Promise<T> {
    const tenants = [...new Set(changes.map((c) => c.tenantId))];
    return this.locked(tenants, async (client) => {
      let results: ScheduleChangeResult[];
      try {
        await client.query('BEGIN');
        results = await this.applyChanges(client, changes, tenants, options);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return afterCommit(results);
    });
  }

  private async applyChanges(
    client: PoolClient,
    changes: readonly ScheduleChange[],
    tenants: string[],
    options: ScheduleWriteOptions,
  ): Promise<ScheduleChangeResult[]> {
    const q = this.quoted;
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
       WHERE tenant_id = ANY($1::text[]) AND definition IS NOT NULL GROUP BY tenant_id`,
      [tenants],
    );
    for (const row of counted.rows) counts.set(row.tenant_id, Number(row.n));
    const dirty = new Map<
      string,
      { tenantId: string; id: string; def: ScheduleDefinition | null }
    >();
    const statuses: ScheduleChangeResult['status'][] = changes.map((change) => {
      const k = key(change.tenantId, change.id);
      const current = state.get(k);
      const live = current?.definition ?? null;
      let next: ScheduleDefinition | null;
      let status: ScheduleChangeResult['status'];
      if (change.kind === 'upsert') {
        if (live && canonicalJson(live) === canonicalJson(change.definition)) return 'unchanged';
        const count = counts.get(change.tenantId) ?? 0;
        const max = options.maxSchedulesPerTenant;
        if (!live && max > 0 && count >= max) return 'refused';
        if (!live) counts.set(change.tenantId, count + 1);
        [next, status] = [change.definition, live ? 'updated' : 'created'];
      } else if (!live) {
        return 'missing';
      } else if (change.kind === 'remove') {
        counts.set(change.tenantId, (counts.get(change.tenantId) ?? 1) - 1);
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
      });
      dirty.set(k, { tenantId: change.tenantId, id: change.id, def: next });
      return status;
    });
    if (dirty.size > 0) {
      const rows = [...dirty.values()];
      const written = await client.query<Row>(
        `INSERT INTO ${q}.schedules AS s (tenant_id, id, definition, version, updated_at)
         SELECT t, i, d, v, clock_timestamp()
           FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::bigint[]) AS u(t, i, d, v)
         ON CONFLICT (tenant_id, id) DO UPDATE
           SET definition = excluded.definition, version = excluded.version,
               updated_at = excluded.updated_at
         RETURNING ${COLUMNS}`,
        [
          rows.map((r) => r.tenantId),
          rows.map((r) => r.id),
          rows.map((r) => (r.def === null ? null : JSON.stringify(r.def))),
          rows.map((r) => state.get(key(r.tenantId, r.id))!.version),
        ],
      );
      for (const row of written.rows) state.set(key(row.tenant_id, row.id), toRecord(row));
    }
    return statuses.map((status, i) => {
      const record = state.get(key(changes[i].tenantId, changes[i].id));
      return status === 'refused' || status === 'missing' ? { status } : { status, record };
    });
  }

  async get(tenantId: string, id: string): Promise<StoredScheduleRecord | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.quoted}.schedules WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return rows.length === 0 ? null : toRecord(rows[0]);
  }

  async changedSince(
    after: ScheduleWatermark | null,
    limit: number,
  ): Promise<StoredScheduleRecord[]> {
    const { rows } = after
      ? await this.pool.query<Row>(
          `SELECT ${COLUMNS} FROM ${this.quoted}.schedules
           WHERE (updated_at, tenant_id, id) > ($1, $2, $3)
           ORDER BY updated_at, tenant_id, id LIMIT $4`,
          [after.updatedAt, after.tenantId, after.id, limit],
        )
      : await this.pool.query<Row>(
          `SELECT ${COLUMNS} FROM ${this.quoted}.schedules
           ORDER BY updated_at, tenant_id, id LIMIT $1`,
          [limit],
        );
    return rows.map(toRecord);
  }

  async page(
    after: { tenantId: string; id: string } | null,
    limit: number,
  ): Promise<StoredScheduleRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.quoted}.schedules
       WHERE ($1::text IS NULL OR (tenant_id, id) > ($1, $2))
       ORDER BY tenant_id, id LIMIT $3`,
      [after?.tenantId ?? null, after?.id ?? null, limit],
    );
    return rows.map(toRecord);
  }

  recordRuns(runs: readonly StoredRun[]): Promise<void> {
    return recordRuns(this.pool, this.quoted, runs);
  }

  runHistory(tenantId: string, scheduleId: string, limit: number): Promise<StoredRun[]> {
    return runHistory(this.pool, this.quoted, tenantId, scheduleId, limit);
  }

  pruneRuns(endedBefore: Date, limit: number): Promise<number> {
    return pruneRuns(this.pool, this.quoted, endedBefore, limit);
  }

  lockTenants<T>(tenantIds: readonly string[], fn: () => Promise<T>): Promise<T> {
    return this.locked([...new Set(tenantIds)], () => fn());
  }

  /**
   * Runs `fn` on one pooled connection holding session-level advisory locks on (package, schema,
   * tenant) for every tenant, taken in sorted order (no deadlock between two multi-tenant writes).
   */
  private async locked<T>(tenants: string[], fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const sorted = [...tenants].sort();
      if (sorted.length > 0) {
        await client.query(
          `SELECT pg_advisory_lock(hashtext($1 || ':' || $2), hashtext(t))
             FROM unnest($3::text[]) WITH ORDINALITY AS u(t, n) ORDER BY n`,
          [LOCK_NAMESPACE, this.schema, sorted],
        );
      }
      return await fn(client);
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // Unlocking on a dead connection fails: then the server dropped the locks with it.
      const unlocked = await client.query('SELECT pg_advisory_unlock_all()').then(
        () => true,
        () => false,
      );
      client.release(unlocked ? undefined : (broken ?? new Error('advisory unlock failed')));
    }
  }
}
