import type { ScheduleStore as DurableStore } from '../interfaces/schedule-store.interface';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { TenantOperations } from '../scheduler/tenant-operations';

/** The reconciler's repair of tenant pauses: Redis made to hold the store's paused tenants. */
export class TenantPauses {
  constructor(
    private readonly connection: RedisConnection,
    private readonly ops: TenantOperations,
  ) {}

  /** Pauses in Redis the tenants the store holds paused (Redis lost the mark, or never got it). */
  async pause(store: DurableStore, paused: ReadonlySet<string>): Promise<void> {
    const { client, keys } = this.connection;
    for (const tenantId of paused) {
      if ((await client.exists(keys.tenantPause(tenantId))) === 1) continue;
      await store.lockTenants([tenantId], async () => {
        if ((await store.pausedTenants()).includes(tenantId)) await this.ops.pause(tenantId);
      });
    }
  }

  /** Resumes in Redis a tenant the store holds not paused (its resume failed after the commit). */
  async resume(store: DurableStore, tenantId: string): Promise<void> {
    if ((await this.connection.client.exists(this.connection.keys.tenantPause(tenantId))) === 0)
      return;
    await store.lockTenants([tenantId], async () => {
      if (!(await store.pausedTenants()).includes(tenantId)) await this.ops.resume(tenantId);
    });
  }
}
