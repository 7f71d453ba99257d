import { AdminValidationError } from './admin.errors';

/** A JSON Schema (OpenAPI 3.1 dialect) object, as the OpenAPI document embeds it. */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * One field of a request body or query: how to read it (throwing AdminValidationError naming the
 * field) and the JSON Schema that describes it, so the parser and the OpenAPI document come from
 * one definition.
 */
export interface Field<T> {
  readonly schema: JsonSchema;
  readonly optional: boolean;
  parse(value: unknown, field: string): T;
}

const fail = (field: string, expected: string): never => {
  throw new AdminValidationError(field, `expected ${expected}`);
};

const field = <T>(schema: JsonSchema, parse: (value: unknown, name: string) => T): Field<T> => ({
  schema,
  optional: false,
  parse,
});

export const string = (maxLength = 10_000): Field<string> =>
  field({ type: 'string', maxLength }, (value, name) =>
    typeof value === 'string' && value.length <= maxLength
      ? value
      : fail(name, `a string of at most ${maxLength} characters`),
  );

export const integer = (minimum: number, maximum = Number.MAX_SAFE_INTEGER): Field<number> =>
  field({ type: 'integer', minimum, maximum }, (value, name) =>
    typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum
      ? value
      : fail(name, `an integer from ${minimum} to ${maximum}`),
  );

export const boolean = (): Field<boolean> =>
  field({ type: 'boolean' }, (value, name) =>
    typeof value === 'boolean' ? value : fail(name, 'true or false'),
  );

export const oneOf = <T extends string>(...values: T[]): Field<T> =>
  field({ type: 'string', enum: values }, (value, name) =>
    values.includes(value as T) ? (value as T) : fail(name, `one of ${values.join(', ')}`),
  );

/** Any JSON value (a handler's payload): the scheduler checks its size. */
export const json = (): Field<unknown> => field({}, (value) => value);

/** A positive integer of milliseconds, or a string such as '90s' (the core reads the string). */
export const msOrString = (): Field<number | string> =>
  field(
    {
      oneOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', maxLength: 64 },
      ],
    },
    (value, name) =>
      (typeof value === 'number' && Number.isInteger(value) && value > 0) ||
      (typeof value === 'string' && value.length <= 64)
        ? (value as number | string)
        : fail(name, 'a positive integer of milliseconds or a string such as "90s"'),
  );

export const optional = <T>(inner: Field<T>): Field<T | undefined> => ({
  ...inner,
  optional: true,
});

type Shape = Record<string, Field<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K]['optional'] extends true ? K : never;
}[keyof S];
type Parsed<F> = F extends Field<infer T> ? T : never;
/** The object type a shape reads: optional fields become optional properties. */
export type ObjectOf<S extends Shape> = {
  [K in Exclude<keyof S, OptionalKeys<S>>]: Parsed<S[K]>;
} & { [K in OptionalKeys<S>]?: Exclude<Parsed<S[K]>, undefined> };

/**
 * A JSON object with these fields and no others: an unknown field, a missing required one or a
 * field of the wrong type throws AdminValidationError naming it (`retry.attempts` when nested).
 */
export function object<S extends Shape>(shape: S): Field<ObjectOf<S>> & { shape: S } {
  const required = Object.keys(shape).filter((key) => !shape[key].optional);
  const properties = Object.fromEntries(Object.entries(shape).map(([k, f]) => [k, f.schema]));
  const schema: JsonSchema = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) schema.required = required;
  return {
    shape,
    schema,
    optional: false,
    parse(value, name) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return fail(name || 'body', 'a JSON object');
      }
      const record = value as Record<string, unknown>;
      const path = (key: string): string => (name ? `${name}.${key}` : key);
      const unknown = Object.keys(record).find((key) => !Object.hasOwn(shape, key));
      if (unknown !== undefined) {
        throw new AdminValidationError(path(unknown), 'unknown field');
      }
      const out: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(shape)) {
        const raw = record[key];
        if (raw === undefined) {
          if (!spec.optional) throw new AdminValidationError(path(key), 'required');
          continue;
        }
        out[key] = spec.parse(raw, path(key));
      }
      return out as ObjectOf<S>;
    },
  };
}

/** A query parameter holding an integer (a decimal string in the URL). */
export const queryInteger = (minimum: number, maximum: number): Field<number> =>
  field({ type: 'integer', minimum, maximum }, (value, name) => {
    const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    return n >= minimum && n <= maximum
      ? n
      : fail(name, `an integer from ${minimum} to ${maximum}`);
  });

/** Reads a query string against `shape` (an object()): every parameter declared, given once. */
export function parseQuery<T>(shape: Field<T>, query: unknown): T {
  const record = (typeof query === 'object' && query !== null ? query : {}) as Record<
    string,
    unknown
  >;
  const multiple = Object.keys(record).find((key) => Array.isArray(record[key]));
  if (multiple !== undefined) throw new AdminValidationError(multiple, 'given more than once');
  return shape.parse({ ...record }, '');
}
