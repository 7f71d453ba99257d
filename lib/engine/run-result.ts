/** Longest run result kept, as JSON (UTF-8 bytes): the run history, dead letters, a store's history. */
export const MAX_RESULT_BYTES = 1_024;

/**
 * The JSON of a run's result as the run history keeps it: '' when there is none (undefined or
 * null), when it cannot be serialised (a BigInt, a cycle, a throwing toJSON, a function) or when
 * its JSON is over MAX_RESULT_BYTES. It never throws: a result never fails its run.
 */
export function resultJson(value: unknown): string {
  if (value === undefined || value === null) return '';
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return '';
  }
  // JSON.stringify gives undefined for a function or a symbol, 'null' for NaN.
  if (json === undefined || json === 'null') return '';
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit: count bytes only near the bound.
  if (json.length * 3 > MAX_RESULT_BYTES && Buffer.byteLength(json) > MAX_RESULT_BYTES) return '';
  return json;
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
