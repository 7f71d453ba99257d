import type { Pool } from 'pg';
import { MIGRATIONS } from './migrations';

/** Advisory-lock key space of this package: hashtext() of it, with hashtext(schema) as the second key. */
export const LOCK_NAMESPACE = 'nestjs-redis-scheduler';

/**
 * Applies the migrations `schema` lacks, in one transaction holding a transaction-level advisory
 * lock on (package, schema): every pod may call it at once; the first applies, the others wait
 * for it and find nothing left to do. Returns the versions this call applied.
 */
export async function migrate(pool: Pool, schema: string, quotedSchema: string): Promise<number[]> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
      LOCK_NAMESPACE,
      schema,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quotedSchema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quotedSchema}.schema_migrations (
         version    integer     PRIMARY KEY,
         name       text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number }>(
      `SELECT version FROM ${quotedSchema}.schema_migrations`,
    );
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql.replaceAll('{schema}', quotedSchema));
      await client.query(
        `INSERT INTO ${quotedSchema}.schema_migrations (version, name) VALUES ($1, $2)`,
        [migration.version, migration.name],
      );
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    failed = error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release(failed instanceof Error ? failed : undefined);
  }
}
