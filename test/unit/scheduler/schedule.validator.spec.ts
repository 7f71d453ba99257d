import { validateIdentifier } from '../../../lib/redis/identifier';
import {
  validateScheduleInput,
  ValidationContext,
} from '../../../lib/scheduler/schedule.validator';
import {
  IntervalTooShortError,
  InvalidCronError,
  InvalidIdentifierError,
  InvalidOptionsError,
  PayloadTooLargeError,
  SchedulerError,
  UnknownHandlerError,
  UnknownTimeZoneError,
} from '../../../lib';
import type { ScheduleInput } from '../../../lib';
import { CronExpressionParser } from 'cron-parser';
import { ScheduleTiming } from '../../../lib/time/schedule-timing';
import type { CronSchedule } from '../../../lib/time/cron';

/** The cron a validated cron schedule fires on. */
const cronOf = (v: ReturnType<typeof validateScheduleInput>): CronSchedule =>
  v.timing.series as CronSchedule;

const ctx: ValidationContext = {
  defaultTimeZone: 'UTC',
  defaultJitterMs: 0,
  guards: { maxSchedulesPerTenant: 10, minIntervalMs: 5 * 60_000, maxPayloadBytes: 100 },
  hasHandler: (name) => name === 'report.generate',
  handlerNames: () => ['report.generate'],
};

const valid: ScheduleInput = {
  tenantId: 'acme',
  id: 'weekly',
  cron: '0 9 * * 1',
  timeZone: 'Europe/Paris',
  handler: 'report.generate',
  payload: { reportId: 'r1' },
};

describe('validateScheduleInput', () => {
  it('accepts a valid schedule and fills defaults', () => {
    const result = validateScheduleInput({ ...valid, timeZone: undefined }, ctx);
    expect(result).toMatchObject({
      timeZone: 'UTC',
      jitterMs: 0,
      enabled: true,
      payloadJson: '{"reportId":"r1"}',
    });
  });

  it.each<[string, Partial<ScheduleInput>, new (...args: never[]) => SchedulerError, RegExp]>([
    ['an invalid cron', { cron: '61 * * * *' }, InvalidCronError, /61/],
    ['an unknown time zone', { timeZone: 'Europe/Atlantis' }, UnknownTimeZoneError, /IANA/],
    ['an unknown handler', { handler: 'report.nope' }, UnknownHandlerError, /report\.generate/],
    [
      'an interval below the minimum over the whole cycle',
      { cron: '0,1 0 * * *' },
      IntervalTooShortError,
      /60000 ms/,
    ],
    ['an interval below the minimum', { cron: '* * * * *' }, IntervalTooShortError, /300000/],
    [
      'a payload over the limit',
      { payload: { blob: 'x'.repeat(200) } },
      PayloadTooLargeError,
      /maxPayloadBytes allows 100/,
    ],
    ['an empty tenant', { tenantId: '' }, InvalidIdentifierError, /empty/],
    ['a tenant with a brace', { tenantId: 'ac{me}' }, InvalidIdentifierError, /"\{"/],
    ['an id with a colon', { id: 'a:b' }, InvalidIdentifierError, /":"/],
    ['an id with a space', { id: 'a b' }, InvalidIdentifierError, /" "/],
    ['an id with a control character', { id: 'a\u0007b' }, InvalidIdentifierError, /index 1/],
    ['an id that is too long', { id: 'x'.repeat(129) }, InvalidIdentifierError, /129 characters/],
    ['a handler with a newline', { handler: 'report\n' }, InvalidIdentifierError, /handler/],
    ['a negative jitter', { jitterMs: -1 }, InvalidOptionsError, /jitterMs/],
    [
      'a non-boolean enabled',
      { enabled: 'yes' as unknown as boolean },
      InvalidOptionsError,
      /enabled/,
    ],
    ['an unserialisable payload', { payload: { n: BigInt(1) } }, InvalidOptionsError, /JSON/],
  ])('rejects %s with its typed error', (_what, change, type, message) => {
    const attempt = () => validateScheduleInput({ ...valid, ...change }, ctx);
    expect(attempt).toThrow(type);
    expect(attempt).toThrow(message);
  });

  it('counts payload bytes in UTF-8, not characters', () => {
    expect(() => validateScheduleInput({ ...valid, payload: 'é'.repeat(55) }, ctx)).toThrow(
      PayloadTooLargeError,
    );
    expect(() => validateScheduleInput({ ...valid, payload: 'e'.repeat(55) }, ctx)).not.toThrow();
  });

  it('skips guards set to 0', () => {
    const open = {
      ...ctx,
      guards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    };
    expect(() =>
      validateScheduleInput({ ...valid, cron: '* * * * * *', payload: 'x'.repeat(1000) }, open),
    ).not.toThrow();
  });

  it('stores what the handler’s payload preparer returns, and lets its typed error through', () => {
    const seen: unknown[] = [];
    const preparing: ValidationContext = {
      ...ctx,
      preparePayload: (payload, target) => {
        seen.push([payload, target]);
        if ((payload as { reportId?: unknown }).reportId === 'bad') {
          throw new InvalidOptionsError('payload.reportId', 'it is bad');
        }
        return { ...(payload as object), prepared: true };
      },
    };
    expect(validateScheduleInput(valid, preparing).payloadJson).toBe(
      '{"reportId":"r1","prepared":true}',
    );
    expect(seen).toEqual([
      [{ reportId: 'r1' }, { tenantId: 'acme', id: 'weekly', handler: 'report.generate' }],
    ]);
    expect(valid.payload).toEqual({ reportId: 'r1' });
    expect(() =>
      validateScheduleInput({ ...valid, payload: { reportId: 'bad' } }, preparing),
    ).toThrow(InvalidOptionsError);
  });

  it('checks the size of the prepared payload, not of the one given', () => {
    const growing: ValidationContext = { ...ctx, preparePayload: () => 'x'.repeat(200) };
    expect(() => validateScheduleInput(valid, growing)).toThrow(PayloadTooLargeError);
  });

  it('gives every error a stable code and its class name', () => {
    try {
      validateIdentifier('tenantId', '');
      throw new Error('not thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(SchedulerError);
      expect(error).toMatchObject({ name: 'InvalidIdentifierError', code: 'INVALID_IDENTIFIER' });
    }
  });
});

describe('validateScheduleInput with H', () => {
  /** The values cron-parser draws for a 6-field `cron` with `seed`, field by field. */
  function drawn(cron: string, seed: string): string[] {
    const { fields } = CronExpressionParser.parse(cron, { hashSeed: seed });
    return [fields.second, fields.minute, fields.hour].map((f) => f.values.join(','));
  }

  /** Every fire time over an hour, as pods compute them: from the timing the writer stores. */
  function storedFires(v: ReturnType<typeof validateScheduleInput>): number[] {
    const pod = ScheduleTiming.decode(ScheduleTiming.of(cronOf(v), 0).stored).series;
    const start = Date.parse('2026-06-01T00:00:00Z');
    const out: number[] = [];
    for (let t = pod.nextAfter(start); t < start + 3_600_000; t = pod.nextAfter(t)) out.push(t);
    return out;
  }

  const gaps = (fires: number[]): number[] => fires.slice(1).map((t, i) => t - fires[i]);
  const everySecond = { ...ctx, guards: { ...ctx.guards, minIntervalMs: 0 } };

  it('draws H once from the schedule identity (tenantId:id): the same input always, another id its own', () => {
    const hashed = { ...valid, cron: 'H H * * * *' };
    const [second, minute] = drawn('H H * * * *', 'acme:weekly');
    const first = cronOf(validateScheduleInput(hashed, ctx));
    expect(first.expression).toBe(`${second} ${minute} * * * *`);
    expect(cronOf(validateScheduleInput({ ...hashed }, ctx)).expression).toBe(first.expression);
    const [s2, m2] = drawn('H H * * * *', 'globex:weekly');
    const other = cronOf(validateScheduleInput({ ...hashed, tenantId: 'globex' }, ctx));
    expect(other.expression).toBe(`${s2} ${m2} * * * *`);
    expect(other.expression).not.toBe(first.expression);
  });

  it('applies the minimum interval to the drawn values: H/20 passes a 20 s guard and fires exactly 20 s apart, a 21 s guard refuses it', () => {
    const guard = (minIntervalMs: number): ValidationContext => ({
      ...ctx,
      guards: { ...ctx.guards, minIntervalMs },
    });
    const input = { ...valid, id: 'sync', cron: 'H/20 * * * * *' };
    const accepted = validateScheduleInput(input, guard(20_000));
    expect(cronOf(accepted).expression).toBe(`${drawn(input.cron, 'acme:sync')[0]} * * * * *`);
    const fires = storedFires(accepted);
    expect(fires).toHaveLength(180);
    expect(new Set(gaps(fires))).toEqual(new Set([20_000]));
    const refusal = () => validateScheduleInput(input, guard(21_000));
    expect(refusal).toThrow(IntervalTooShortError);
    expect(refusal).toThrow(
      `(with its H drawn for this schedule: "${cronOf(accepted).expression}")`,
    );
  });

  it('decides the guard per schedule when the gap depends on the draw: refused exactly when its own fires come too close', () => {
    // 'H,30': the drawn second and second 30; 20 s apart or more for some ids, less for others.
    const guarded = { ...ctx, guards: { ...ctx.guards, minIntervalMs: 20_000 } };
    const ids = Array.from({ length: 100 }, (_, i) => `job${i}`);
    const fires = (id: string) =>
      storedFires(validateScheduleInput({ ...valid, id, cron: 'H,30 * * * * *' }, everySecond));
    const shortest = (id: string) => Math.min(...gaps(fires(id)));
    const close = ids.find((id) => shortest(id) < 20_000);
    const far = ids.find((id) => shortest(id) >= 20_000);
    if (!close || !far) throw new Error('no id of the kind needed among 100');
    expect(() =>
      validateScheduleInput({ ...valid, id: close, cron: 'H,30 * * * * *' }, guarded),
    ).toThrow(IntervalTooShortError);
    const ok = validateScheduleInput({ ...valid, id: far, cron: 'H,30 * * * * *' }, guarded);
    expect(Math.min(...gaps(storedFires(ok)))).toBeGreaterThanOrEqual(20_000);
  });
});
