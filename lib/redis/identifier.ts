import { IDENTIFIER_MAX_LENGTH } from '../redis-scheduler.constants';
import { InvalidIdentifierError } from '../errors/invalid-identifier.error';

// Tenant ids, schedule ids, static names and handler names all become parts of Redis keys.
// Braces would change a key's hash tag, ':' separates key parts; whitespace and control characters
// never belong.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[{}:\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Throws InvalidIdentifierError unless `value` can safely be part of a key. */
export function validateIdentifier(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string')
    throw new InvalidIdentifierError(field, value, 'it must be a string');
  if (value.length === 0) throw new InvalidIdentifierError(field, value, 'it is empty');
  if (value.length > IDENTIFIER_MAX_LENGTH) {
    throw new InvalidIdentifierError(field, value, `it is ${value.length} characters long`);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    throw new InvalidIdentifierError(
      field,
      value,
      `it contains ${JSON.stringify(bad[0])} at index ${bad.index}`,
    );
  }
}
