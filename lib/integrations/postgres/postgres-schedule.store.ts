import { Pool, type PoolClient } from 'pg';
import type {
  ScheduleChange,
  RunColumns,
  ScheduleChangeResult,
  ScheduleStore,
  ScheduleWatermark,
  ScheduleWriteOptions,
  StoredRun,
  StoredScheduleRecord,
  TenantAction,
} from '../../index';
import { InvalidOptionsError } from '../../index';
import { pruneRuns, recordRunColumns, recordRuns, runHistory } from './postgres-runs';
import { pausedStatics, pausedTenants, writeStaticPause, writeTenant } from './postgres-tenants';
import { applyChanges, COLUMNS, toRecord, type Row } from './postgres-writes';
import { LOCK_NAMESPACE, migrate } from './migrate';
import { migrationSql } from './migrations';

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
        results = await applyChanges(client, this.quoted, changes, tenants, options);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return afterCommit(results);
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

  recordRunColumns(runs: RunColumns): Promise<void> {
    return recordRunColumns(this.pool, this.quoted, runs);
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

  writeTenant<T>(
    tenantId: string,
    action: TenantAction,
    afterCommit: (result: { schedules: number }) => Promise<T>,
  ): Promise<T> {
    return this.locked([tenantId], async (client) =>
      afterCommit(await writeTenant(client, this.quoted, tenantId, action)),
    );
  }

  pausedTenants(): Promise<string[]> {
    return pausedTenants(this.pool, this.quoted);
  }

  /** Under the statics' lock (tenant '', never a tenant id): one statement, then afterCommit. */
  writeStaticPause<T>(name: string, paused: boolean, afterCommit: () => Promise<T>): Promise<T> {
    return this.locked([''], async (client) => {
      await writeStaticPause(client, this.quoted, name, paused);
      return afterCommit();
    });
  }

  pausedStatics(): Promise<string[]> {
    return pausedStatics(this.pool, this.quoted);
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
