import { InvalidOptionsError } from '../errors/invalid-options.error';
import { PayloadTooLargeError } from '../errors/payload-too-large.error';
import { UnknownHandlerError } from '../errors/unknown-handler.error';
import type { ScheduleInput } from '../interfaces/schedule.interface';
import type { TenantGuardOptions } from '../interfaces/redis-scheduler-options.interface';
import { validateIdentifier } from '../redis/identifier';
import { hashSeedOf } from '../time/cron';
import { validateJitter } from '../time/jitter';
import { encodePolicy, validatePolicy } from '../policy/schedule-policy';
import { validateTiming, type ValidatedTiming } from './timing.validator';

/** What the validator hands on to the writer: the input, normalised. */
export interface ValidatedSchedule {
  input: ScheduleInput;
  /** What it fires on: a cron with its `H` resolved, an interval (anchored by the writer), a one-off. */
  timing: ValidatedTiming;
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
    throw new InvalidOptionsError(
      'schedule',
      'pass an object with tenantId, id, cron (or every, or at) and handler',
    );
  }
  validateIdentifier('tenantId', input.tenantId);
  validateIdentifier('id', input.id);
  validateIdentifier('handler', input.handler);
  const timeZone = input.timeZone ?? ctx.defaultTimeZone;
  const { minIntervalMs, maxPayloadBytes } = ctx.guards;
  const seed = hashSeedOf(input.id, input.tenantId);
  const timing = validateTiming(input, timeZone, seed, minIntervalMs);
  if (!ctx.hasHandler(input.handler))
    throw new UnknownHandlerError(input.handler, ctx.handlerNames());
  const jitterMs = input.jitterMs ?? ctx.defaultJitterMs;
  validateJitter(jitterMs);
  const enabled = input.enabled ?? true;
  if (typeof enabled !== 'boolean')
    throw new InvalidOptionsError('enabled', 'it must be true or false');
  validatePolicy(input, 'schedule');
  const { tenantId, id, handler } = input;
  const payload = ctx.preparePayload
    ? ctx.preparePayload(input.payload, { tenantId, id, handler })
    : input.payload;
  const payloadJson = serialise(payload);
  const bytes = Buffer.byteLength(payloadJson, 'utf8');
  if (maxPayloadBytes > 0 && bytes > maxPayloadBytes)
    throw new PayloadTooLargeError(bytes, maxPayloadBytes);
  return {
    input,
    timing,
    timeZone,
    jitterMs,
    enabled,
    payloadJson,
    policyJson: encodePolicy(input),
  };
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
