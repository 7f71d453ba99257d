/*
 * Type test: checked by `npx tsc --noEmit -p tsconfig.json`, never run. Importing
 * nestjs-redis-scheduler/http types the payload of `handler: 'http'` (its module augments
 * ScheduleHandlers); each `@ts-expect-error` line must be an error.
 */
import type { SchedulerService } from 'nestjs-redis-scheduler';
import type { HttpTargetPayload } from 'nestjs-redis-scheduler/http';

declare const scheduler: SchedulerService;
const base = { tenantId: 'acme', id: 'hook', cron: '0 * * * *', handler: 'http' } as const;

export async function httpPayload(): Promise<HttpTargetPayload | undefined> {
  const schedule = await scheduler.upsert({
    ...base,
    payload: { url: 'https://hooks.example.com/', method: 'PUT', headers: { A: 'b' } },
  });
  // @ts-expect-error the method is one of the HTTP methods the handler sends
  await scheduler.upsert({ ...base, payload: { url: 'https://x.example/', method: 'FETCH' } });
  // @ts-expect-error url is required
  await scheduler.upsert({ ...base, payload: { method: 'GET' } });
  // @ts-expect-error header values are strings
  await scheduler.upsert({ ...base, payload: { url: 'https://x.example/', headers: { A: 1 } } });
  return schedule.payload;
}
