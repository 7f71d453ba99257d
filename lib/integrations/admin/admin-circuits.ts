import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HTTP_TARGET_CIRCUITS, SchedulerService } from '../../index';

/** A host's circuit breaker as `nestjs-redis-scheduler/http` reports it (HttpTargetCircuit). */
export interface AdminCircuit {
  host: string;
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  openedAt: Date | null;
  retryAt: Date | null;
}

/** What the admin API reads of HttpTargetBreakers, found through the core's token. */
interface CircuitSource {
  circuit(host: string): AdminCircuit;
  circuits(): AdminCircuit[];
}

/** The handler name of HTTP target schedules (`HTTP_HANDLER` of nestjs-redis-scheduler/http). */
const HTTP_HANDLER = 'http';

/**
 * The circuits of HttpTargetsModule when the app has it (in any module: it need not be global),
 * else none. Read in this process: breakers are per process.
 */
@Injectable()
export class AdminCircuits {
  private source: CircuitSource | null | undefined;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly scheduler: SchedulerService,
  ) {}

  /** Every remembered circuit, sorted by host. */
  all(): AdminCircuit[] {
    return this.breakers()?.circuits() ?? [];
  }

  /** The circuit of each host the tenant's 'http' schedules call, sorted by host. */
  async ofTenant(tenantId: string): Promise<AdminCircuit[]> {
    const breakers = this.breakers();
    if (!breakers) return [];
    const hosts = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await this.scheduler.list(tenantId, { cursor, limit: 1_000 });
      for (const schedule of page.items) {
        const host = schedule.handler === HTTP_HANDLER ? hostOf(schedule.payload) : undefined;
        if (host) hosts.add(host);
      }
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return [...hosts].sort().map((host) => breakers.circuit(host));
  }

  private breakers(): CircuitSource | null {
    if (this.source === undefined) {
      try {
        this.source = this.moduleRef.get<CircuitSource>(HTTP_TARGET_CIRCUITS, { strict: false });
      } catch {
        this.source = null;
      }
    }
    return this.source;
  }
}

/** `host[:port]` of an HTTP target payload's url (what the breakers are keyed by). */
function hostOf(payload: unknown): string | undefined {
  const url = (payload as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string' || !URL.canParse(url)) return undefined;
  return new URL(url).host.toLowerCase();
}
