/*
 * Type test (issue 10, A9): checked by `npx tsc --noEmit -p tsconfig.json`, never run. A handler
 * declared in ScheduleHandlers has its payload checked by upsert() and upsertMany(); any other
 * handler name takes any payload, as before. Each `@ts-expect-error` line must be an error: if
 * the check stopped working, tsc would report the directive as unused.
 *
 * The augmentation merges into ScheduleHandlers for the whole program tsc checks, so its handler
 * names are unique to this file.
 */
import type { Schedule, ScheduleInput, SchedulerService } from 'nestjs-redis-scheduler';

declare module 'nestjs-redis-scheduler' {
  interface ScheduleHandlers {
    'typed-payloads.report': { reportId: string };
    'typed-payloads.ping': undefined;
  }
}

declare const scheduler: SchedulerService;
const base = { tenantId: 'acme', id: 'r1', cron: '0 * * * *' } as const;

export async function typedPayloads(): Promise<void> {
  // The declared payload type is accepted, and the result carries it.
  const report: Schedule<{ reportId: string }> = await scheduler.upsert({
    ...base,
    handler: 'typed-payloads.report',
    payload: { reportId: 'r-1' },
  });
  void report;

  await scheduler.upsert({
    ...base,
    handler: 'typed-payloads.report',
    // @ts-expect-error reportId must be a string
    payload: { reportId: 42 },
  });

  await scheduler.upsert({
    ...base,
    handler: 'typed-payloads.report',
    // @ts-expect-error a property the declared type does not have
    payload: { reportId: 'r-1', extra: true },
  });

  await scheduler.upsert({
    ...base,
    handler: 'typed-payloads.ping',
    // @ts-expect-error this handler takes no payload
    payload: { reportId: 'r-1' },
  });

  // Each input of upsertMany is checked against its own handler.
  await scheduler.upsertMany([
    { ...base, handler: 'typed-payloads.report', payload: { reportId: 'r-1' } },
    { ...base, id: 'p1', handler: 'typed-payloads.ping' },
    { ...base, id: 'x1', handler: 'not-declared', payload: { anything: [1, 2] } },
  ]);

  await scheduler.upsertMany([
    { ...base, id: 'x1', handler: 'not-declared', payload: 'anything' },
    // @ts-expect-error reportId must be a string, though another input is untyped
    { ...base, handler: 'typed-payloads.report', payload: { reportId: 42 } },
  ]);

  // A handler name not declared takes any payload, as before, and keeps the generic.
  const any: Schedule<{ n: number }> = await scheduler.upsert({
    ...base,
    handler: 'not-declared',
    payload: { n: 1 },
  });
  void any;
  await scheduler.upsert<{ n: number }>({ ...base, handler: 'not-declared', payload: { n: 1 } });

  // ScheduleInput without type arguments, and a handler typed only as string, still work.
  const input: ScheduleInput = { ...base, handler: 'typed-payloads.report', payload: 42 };
  await scheduler.upsert(input);
  const handler: string = 'not-declared';
  await scheduler.upsert({ ...base, handler, payload: Symbol('x') });
}
