import type { Pool, PoolClient } from 'pg';
import type { TenantAction } from '../../index';

/**
 * pauseTenant / resumeTenant / removeTenant in one transaction on `client` (which holds the
 * tenant's advisory lock): the pause mark set or cleared; for 'remove', every live row of the
 * tenant a tombstone (version + 1, updated_at moved, so every pod's reconciler learns of it).
 * Returns the live schedules the tenant had (finished one-offs excluded, as in the quota).
 */
export async function writeTenant(
  client: PoolClient,
  q: string,
  tenantId: string,
  action: TenantAction,
): Promise<{ schedules: number }> {
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${q}.schedules
        WHERE tenant_id = $1 AND definition IS NOT NULL AND finished_at IS NULL`,
      [tenantId],
    );
    if (action === 'pause') {
      await client.query(
        `INSERT INTO ${q}.paused_tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING`,
        [tenantId],
      );
    } else {
      await client.query(`DELETE FROM ${q}.paused_tenants WHERE tenant_id = $1`, [tenantId]);
    }
    if (action === 'remove') {
      await client.query(
        `UPDATE ${q}.schedules
            SET definition = NULL, finished_at = NULL, version = version + 1,
                updated_at = clock_timestamp()
          WHERE tenant_id = $1 AND definition IS NOT NULL`,
        [tenantId],
      );
    }
    await client.query('COMMIT');
    return { schedules: Number(rows[0].n) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export async function pausedTenants(pool: Pool, q: string): Promise<string[]> {
  const { rows } = await pool.query<{ tenant_id: string }>(
    `SELECT tenant_id FROM ${q}.paused_tenants ORDER BY tenant_id`,
  );
  return rows.map((r) => r.tenant_id);
}

/** pauseStatic / resumeStatic in one transaction on `client` (holding the statics' lock). */
export async function writeStaticPause(
  client: PoolClient,
  q: string,
  name: string,
  paused: boolean,
): Promise<void> {
  await client.query(
    paused
      ? `INSERT INTO ${q}.paused_statics (name) VALUES ($1) ON CONFLICT DO NOTHING`
      : `DELETE FROM ${q}.paused_statics WHERE name = $1`,
    [name],
  );
}

export async function pausedStatics(pool: Pool, q: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT name FROM ${q}.paused_statics ORDER BY name`,
  );
  return rows.map((r) => r.name);
}
