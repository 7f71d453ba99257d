// Issue 12 bench: upsertMany throughput with and without the PostgreSQL store, on a private
// PostgreSQL and redis-server (an API app, worker: false). Not part of `npm test`.
//   node -r ts-node/register/transpile-only test/bench/store-upsert.ts [--schedules 10000] [--tenants 100]
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RedisSchedulerModule, SchedulerService, type ScheduleInput } from '../../lib';
import { PostgresScheduleStore } from '../../lib/integrations/postgres';
import { Test } from '@nestjs/testing';
import { recordingHandlers } from '../fixtures/recorder';
import { startPostgresServer } from '../support/postgres-server';
import { startRedisServer } from '../support/redis-server';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function measure(
  label: string,
  options: Parameters<typeof RedisSchedulerModule.forRoot>[0],
  inputs: ScheduleInput[],
) {
  const module = await Test.createTestingModule({
    imports: [RedisSchedulerModule.forRoot(options)],
    providers: [recordingHandlers('bench')],
  }).compile();
  module.useLogger(false);
  await module.init();
  const scheduler = module.get(SchedulerService);
  const started = performance.now();
  const chunk = 1_000;
  for (let i = 0; i < inputs.length; i += chunk)
    await scheduler.upsertMany(inputs.slice(i, i + chunk));
  const ms = performance.now() - started;
  await module.close();
  console.log(
    `${label}: ${inputs.length} schedules in ${ms.toFixed(0)} ms = ${Math.round((inputs.length / ms) * 1000)} schedules/s`,
  );
}

async function main(): Promise<void> {
  const n = flag('schedules', 10_000);
  const tenants = flag('tenants', 100);
  const [pg, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
  try {
    const inputs = (prefix: string): ScheduleInput[] =>
      Array.from({ length: n }, (_, i) => ({
        tenantId: `${prefix}t${i % tenants}`,
        id: `s${i}`,
        cron: '0 0 1 1 *',
        handler: 'record',
        payload: { i },
      }));
    const base = {
      redis: redis.url,
      worker: false,
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    };
    await measure(
      'redis only',
      { ...base, keyPrefix: `b${randomUUID().slice(0, 6)}` },
      inputs('r'),
    );
    await measure(
      'postgres store + redis',
      {
        ...base,
        keyPrefix: `b${randomUUID().slice(0, 6)}`,
        store: new PostgresScheduleStore({ connectionString: pg.url, schema: 'bench' }),
      },
      inputs('p'),
    );
  } finally {
    await Promise.all([pg.stop(), redis.stop()]);
  }
}

void main();
