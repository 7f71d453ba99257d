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
