/**
 * Registers the workload's schedules through the public API, the way an application would:
 * a short-lived Nest application context with RedisSchedulerModule (`worker: false`, guards off)
 * and a stub @ScheduleHandler('bench') provider (upsert validates that the handler exists), then
 * SchedulerService.upsertMany in chunks of `registerChunk` (10,000), `registerParallel` (1) at a
 * time, each schedule { tenantId: `tenant<i % 1000>`, id: `bench-<i>`, cron, timeZone, jitterMs,
 * handler: 'bench' }. Stops between chunks once SetupContext.deadlineMs has passed.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ScheduleInput } from '../../lib';
import type { ImplSetup, RegisterOutcome } from './impl-setup';
import { nowMs } from './pod-protocol';
import {
  BENCH_HANDLER,
  builtLibrary,
  oursModuleOptions,
  oursOptions,
  oursRedis,
} from './ours-options';
import type { ScheduleSpec } from './workloads';

// The built library, as an application loads the package: see builtLibrary.
const { RedisSchedulerModule, ScheduleHandler, SchedulerService } = builtLibrary();

@Injectable()
class SetupHandlers {
  @ScheduleHandler(BENCH_HANDLER)
  run(): void {
    throw new Error('a worker: false context never runs schedules');
  }
}

@Module({})
class BenchSetupModule {}

export const TENANTS = 1_000;

export function toInput(s: ScheduleSpec): ScheduleInput {
  return {
    tenantId: `tenant${s.index % TENANTS}`,
    id: s.id,
    cron: s.cron,
    timeZone: s.timeZone,
    jitterMs: s.jitterMs,
    handler: BENCH_HANDLER,
  };
}

export const oursSetup: ImplSetup = {
  async register(ctx): Promise<RegisterOutcome> {
    const o = oursOptions(ctx.options);
    if (o.storeUrl) await emptyStore(o.storeUrl);
    const connection = oursRedis(ctx); // cluster mode: a Cluster the module does not close
    const app = await NestFactory.createApplicationContext(
      {
        module: BenchSetupModule,
        imports: [RedisSchedulerModule.forRoot(oursModuleOptions(connection.redis, o, false))],
        providers: [SetupHandlers],
      },
      { logger: false },
    ).catch(async (err: unknown) => {
      await connection.close();
      throw err;
    });
    try {
      const service = app.get(SchedulerService);
      const chunks: number[] = [];
      for (let i = 0; i < ctx.schedules.length; i += o.registerChunk) chunks.push(i);
      let next = 0;
      let stored = 0;
      let stop = false;
      const lane = async (): Promise<void> => {
        while (!stop && next < chunks.length) {
          if (ctx.deadlineMs !== undefined && nowMs() >= ctx.deadlineMs) {
            stop = true;
            return;
          }
          const from = chunks[next++];
          const part = ctx.schedules.slice(from, from + o.registerChunk);
          await service.upsertMany(part.map(toInput));
          stored += part.length;
        }
      };
      const t0 = nowMs();
      await Promise.all(Array.from({ length: o.registerParallel }, lane));
      // Chunks are taken in order and every chunk started is finished: a full prefix is stored.
      return { registered: stored, storeMs: nowMs() - t0 };
    } finally {
      await app.close();
      await connection.close();
    }
  },

  /** With the store: how long each run's end took to reach PostgreSQL (printed). */
  async teardown(ctx) {
    const o = oursOptions(ctx.options);
    if (o.storeUrl)
      console.log(`  history lag (${ctx.workload.name}): ${await historyLag(o.storeUrl)}`);
  },

  version() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  },
};

/** With the store: the previous case's schedules and runs go (Redis was flushed between cases). */
async function emptyStore(connectionString: string): Promise<void> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query(
      `DO $$ BEGIN
         IF to_regclass('bench.schedules') IS NOT NULL THEN TRUNCATE bench.schedules, bench.runs; END IF;
       END $$`,
    );
  } finally {
    await client.end();
  }
}

/**
 * The window in which a completion is in Redis but not yet in PostgreSQL (README, DB-backed
 * schedules): for every run of the case, its row's `recorded_at` (PostgreSQL's clock when the
 * history batch was written; committed within that statement) minus its `ended_at` (the run's end
 * in Redis time). The same machine runs both, so the clocks agree.
 */
export async function historyLag(connectionString: string): Promise<string> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<Record<'n' | 'p50' | 'p99' | 'max', string | null>>(
      `SELECT count(*) AS n,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY lag)) AS p50,
              round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)) AS p99,
              round(max(lag)) AS max
         FROM (SELECT extract(epoch FROM recorded_at - ended_at) * 1000 AS lag
                 FROM bench.runs WHERE recorded_at IS NOT NULL) l`,
    );
    const r = rows[0];
    return `${r.n} runs, run end to its row in PostgreSQL: p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms`;
  } finally {
    await client.end();
  }
}
