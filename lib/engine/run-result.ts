/** Longest run result kept, as JSON (UTF-8 bytes): the run history, dead letters, a store's history. */
export const MAX_RESULT_BYTES = 1_024;

/** Thrown by the replacer of resultJson to stop serialising a result that is too large. */
const TOO_LARGE = new Error('result too large');

/**
 * The JSON of a run's result as the run history keeps it: '' when there is none (undefined or
 * null), when it cannot be serialised (a BigInt, a cycle, a throwing toJSON, a function) or when
 * its JSON is over MAX_RESULT_BYTES. It never throws: a result never fails its run. A large
 * result is given up after about MAX_RESULT_BYTES of it, not serialised whole.
 */
export function resultJson(value: unknown): string {
  if (value === undefined || value === null) return '';
  // A Buffer's toJSON() copies every byte into an array before the replacer sees it.
  if (tooLargeView(value)) return '';
  let json: string | undefined;
  // A lower bound of the JSON's size so far: each value written takes at least a character, a
  // string at least its length, an object's key at least its length.
  let written = 0;
  try {
    json = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return v;
      // JSON.stringify lists every index of a typed array as a string key before writing any.
      if (tooLargeView(v)) throw TOO_LARGE;
      written += (Array.isArray(this) ? 0 : key.length) + (typeof v === 'string' ? v.length : 1);
      if (written > MAX_RESULT_BYTES) throw TOO_LARGE;
      return v;
    });
  } catch {
    return '';
  }
  // JSON.stringify gives undefined for a function or a symbol, 'null' for NaN.
  if (json === undefined || json === 'null') return '';
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit: count bytes only near the bound.
  if (json.length * 3 > MAX_RESULT_BYTES && Buffer.byteLength(json) > MAX_RESULT_BYTES) return '';
  return json;
}

/**
 * A typed array or Buffer whose JSON cannot fit: each element takes two characters at least (a
 * digit and a comma; a Buffer's JSON is its bytes as an array).
 */
function tooLargeView(value: unknown): boolean {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return false;
  return (value as unknown as ArrayLike<unknown>).length * 2 > MAX_RESULT_BYTES;
}

/** A kept result read back: its value, or null for none (or text that is not JSON). */
export function parseResult(json: string): unknown {
  if (json === '') return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return null;
  }
}

/**
 * The `result` a handler's error carries (RunResultCarrier), undefined when it carries none.
 * Reading it never throws (a getter or a proxy that throws carries none).
 */
export function carriedResult(error: unknown): unknown {
  if (error === null || typeof error !== 'object') return undefined;
  try {
    return (error as { result?: unknown }).result;
  } catch {
    return undefined;
  }
}
