import { AdminValidationError } from './admin.errors';

/**
 * The handler of HTTP targets ('nestjs-redis-scheduler/http'), named here rather than imported:
 * the admin module never loads another integration.
 */
const HTTP_HANDLER = 'http';

/**
 * What every admin answer shows in place of a header value of an 'http' schedule: header values
 * are write-only (often credentials), so neither the value nor its ciphertext ever leaves.
 */
export const REDACTED_HEADER_VALUE = '<redacted>';

type WithPayload = { handler: string; payload?: unknown };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `schedule` as the admin API shows it: for an 'http' schedule, a copy whose `payload.headers`
 * keeps the names with REDACTED_HEADER_VALUE as every value; any other schedule as it is.
 */
export function redactSchedule<T extends WithPayload>(schedule: T): T {
  if (schedule.handler !== HTTP_HANDLER || !isRecord(schedule.payload)) return schedule;
  const { headers } = schedule.payload;
  if (headers === undefined) return schedule;
  const redacted = isRecord(headers)
    ? Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED_HEADER_VALUE]))
    : REDACTED_HEADER_VALUE;
  return { ...schedule, payload: { ...schedule.payload, headers: redacted } };
}

/**
 * Refuses (400, naming the header) an 'http' body that sends REDACTED_HEADER_VALUE as a header
 * value: a client that PUTs back what it read would otherwise replace the secret with the marker.
 * Refused rather than "keep the stored value", which would let a caller who cannot read a secret
 * point the schedule at another URL and have the secret sent there.
 */
export function refuseRedactedHeaders(input: WithPayload): void {
  if (input.handler !== HTTP_HANDLER || !isRecord(input.payload)) return;
  const { headers } = input.payload;
  if (!isRecord(headers)) return;
  const name = Object.keys(headers).find((key) => headers[key] === REDACTED_HEADER_VALUE);
  if (name === undefined) return;
  throw new AdminValidationError(
    `payload.headers.${name}`,
    `"${REDACTED_HEADER_VALUE}" is what the API shows in place of a header value (they are ` +
      'write-only): send the real value again',
  );
}
