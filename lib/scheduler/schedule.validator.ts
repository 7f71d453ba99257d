import { InvalidOptionsError } from '../errors/invalid-options.error';
import { IntervalTooShortError } from '../errors/interval-too-short.error';
import { PayloadTooLargeError } from '../errors/payload-too-large.error';
import { UnknownHandlerError } from '../errors/unknown-handler.error';
import type { ScheduleInput } from '../interfaces/schedule.interface';
import type { TenantGuardOptions } from '../interfaces/redis-scheduler-options.interface';
import { validateIdentifier } from '../redis/identifier';
import { CronSchedule, hashSeedOf } from '../time/cron';
import { validateJitter } from '../time/jitter';
import { encodePolicy, validatePolicy } from '../policy/schedule-policy';

/** What the validator hands on to the writer: the input, normalised. */
export interface ValidatedSchedule {
  input: ScheduleInput;
  /** The cron with its `H` resolved for this schedule (`input.cron` is the one as written). */
  cron: CronSchedule;
  timeZone: string;
  jitterMs: number;
  enabled: boolean;
  payloadJson: string;
  policyJson: string;
}

export interface ValidationContext {
  defaultTimeZone: string;
  defaultJitterMs: number;
  guards: Required<TenantGuardOptions>;
  hasHandler(name: string): boolean;
  handlerNames(): string[];
  /** The payload to store: what the handler's @PreparePayload returns (it may throw), else as given. */
  preparePayload?(
    payload: unknown,
    target: { tenantId: string; id: string; handler: string },
  ): unknown;
}

/**
 * Every check that can be made before touching Redis; the tenant quota is the one guard that
 * needs Redis and is enforced in upsertSchedules.lua (payload size is checked again there).
 */
export function validateScheduleInput(
  input: ScheduleInput,
  ctx: ValidationContext,
): ValidatedSchedule {
  if (!input || typeof input !== 'object') {
    throw new InvalidOptionsError('schedule', 'pass an object with tenantId, id, cron and handler');
  }
  validateIdentifier('tenantId', input.tenantId);
  validateIdentifier('id', input.id);
  validateIdentifier('handler', input.handler);
  const timeZone = input.timeZone ?? ctx.defaultTimeZone;
  if (typeof input.cron !== 'string') {
    throw new InvalidOptionsError(
      'cron',
      'it must be a cron expression string such as "0 9 * * 1"',
    );
  }
  // `H` is drawn once, here, from the schedule's identity: the timing stored, every pod's fire
  // times and the minimum-interval guard below all read the same resolved expression.
  const cron = CronSchedule.of(input.cron, timeZone, hashSeedOf(input.id, input.tenantId));
  if (!ctx.hasHandler(input.handler))
    throw new UnknownHandlerError(input.handler, ctx.handlerNames());
  const jitterMs = input.jitterMs ?? ctx.defaultJitterMs;
  validateJitter(jitterMs);
  const enabled = input.enabled ?? true;
  if (typeof enabled !== 'boolean')
    throw new InvalidOptionsError('enabled', 'it must be true or false');
  const { minIntervalMs, maxPayloadBytes } = ctx.guards;
  if (minIntervalMs > 0) {
    const gap = cron.shortestGapMs();
    if (gap < minIntervalMs) {
      throw new IntervalTooShortError(input.cron, gap, minIntervalMs, cron.expression);
    }
  }
  validatePolicy(input, 'schedule');
  const { tenantId, id, handler } = input;
  const payload = ctx.preparePayload
    ? ctx.preparePayload(input.payload, { tenantId, id, handler })
    : input.payload;
  const payloadJson = serialise(payload);
  const bytes = Buffer.byteLength(payloadJson, 'utf8');
  if (maxPayloadBytes > 0 && bytes > maxPayloadBytes)
    throw new PayloadTooLargeError(bytes, maxPayloadBytes);
  return { input, cron, timeZone, jitterMs, enabled, payloadJson, policyJson: encodePolicy(input) };
}

function serialise(payload: unknown): string {
  if (payload === undefined) return '';
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidOptionsError(
      'payload',
      `it cannot be serialised to JSON (${(error as Error).message})`,
    );
  }
  if (json === undefined)
    throw new InvalidOptionsError('payload', 'it must be JSON-serialisable data');
  return json;
}
