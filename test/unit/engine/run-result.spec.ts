import {
  carriedResult,
  MAX_RESULT_BYTES,
  parseResult,
  resultJson,
} from '../../../lib/engine/run-result';

describe('run results', () => {
  it('keeps a JSON-serialisable result as one line of JSON', () => {
    expect(resultJson({ status: 200, durationMs: 12 })).toBe('{"status":200,"durationMs":12}');
    expect(resultJson('two\nlines')).toBe('"two\\nlines"');
    expect(resultJson(0)).toBe('0');
    expect(resultJson(false)).toBe('false');
    expect(parseResult(resultJson({ a: [1, 'x'] }))).toEqual({ a: [1, 'x'] });
  });

  it('keeps none for nothing, null, and what JSON cannot hold', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const throwing = {
      toJSON() {
        throw new Error('no');
      },
    };
    for (const value of [undefined, null, NaN, () => 1, Symbol('s'), 10n, cycle, throwing]) {
      expect(resultJson(value)).toBe('');
    }
  });

  it('keeps a result of at most 1 kB of JSON (UTF-8 bytes), none above', () => {
    const fits = 'x'.repeat(MAX_RESULT_BYTES - 2); // plus its two quotes
    expect(resultJson(fits)).toBe(`"${fits}"`);
    expect(resultJson(`${fits}x`)).toBe('');
    // 'é' is 2 bytes: 511 of them and the quotes are 1,024 bytes; one more is over.
    expect(resultJson('é'.repeat(511))).toHaveLength(513);
    expect(resultJson('é'.repeat(512))).toBe('');
  });

  it('gives up a large result after about 1 kB of it, without serialising it whole', () => {
    let read = 0;
    const huge: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) {
      Object.defineProperty(huge, `k${i}`, {
        enumerable: true,
        get: () => ++read,
      });
    }
    expect(resultJson(huge)).toBe('');
    expect(read).toBeLessThan(MAX_RESULT_BYTES);
    expect(resultJson(new Array(1_000_000).fill(1))).toBe('');
    // Values JSON leaves out count for nothing: this one is 1,024 bytes.
    const kept = { a: 'x'.repeat(MAX_RESULT_BYTES - 8), gone: undefined, f: () => 1 };
    expect(Buffer.byteLength(resultJson(kept))).toBe(MAX_RESULT_BYTES);
  });

  it('gives up a large typed array or Buffer at once, without listing its elements', () => {
    // Before: JSON.stringify listed 20 million index keys first (seconds of a blocked event loop).
    const started = performance.now();
    expect(resultJson(new Uint8Array(20_000_000))).toBe('');
    expect(resultJson({ body: new Float64Array(5_000_000) })).toBe('');
    expect(resultJson(Buffer.alloc(20_000_000))).toBe('');
    expect(performance.now() - started).toBeLessThan(1_000);
    // A small one is kept as JSON.stringify writes it.
    expect(resultJson(new Uint8Array([1, 2]))).toBe('{"0":1,"1":2}');
    expect(resultJson(Buffer.from([7]))).toBe('{"type":"Buffer","data":[7]}');
    // 129 float64 zeros are 1,032 bytes of memory but 923 bytes of JSON: kept.
    expect(resultJson(new Float64Array(129))).toHaveLength(923);
  });

  it('reads back none from an empty or broken text', () => {
    expect(parseResult('')).toBeNull();
    expect(parseResult('{broken')).toBeNull();
  });

  it('finds the result an error carries, and none on anything else', () => {
    expect(carriedResult(Object.assign(new Error('x'), { result: 5 }))).toBe(5);
    expect(carriedResult(new Error('x'))).toBeUndefined();
    expect(carriedResult('text')).toBeUndefined();
    expect(carriedResult(null)).toBeUndefined();
  });
});
