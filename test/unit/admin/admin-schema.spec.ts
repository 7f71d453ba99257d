import {
  boolean,
  integer,
  json,
  msOrString,
  object,
  oneOf,
  optional,
  parseQuery,
  queryInteger,
  string,
} from '../../../lib/integrations/admin/admin-schema';
import { AdminValidationError } from '../../../lib/integrations/admin';
import {
  CREATE_SCHEDULE_BODY,
  REPLACE_SCHEDULE_BODY,
  toScheduleInput,
} from '../../../lib/integrations/admin/schedule-body';

/** The field and reason of the AdminValidationError `fn` throws. */
function refusal(fn: () => unknown): { field: string; reason: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof AdminValidationError) return { field: error.field, reason: error.reason };
    throw error;
  }
  throw new Error('nothing was thrown');
}

const shape = object({
  name: string(8),
  count: optional(integer(1, 10)),
  flag: optional(boolean()),
  mode: optional(oneOf('a', 'b')),
  every: optional(msOrString()),
  data: optional(json()),
  nested: optional(object({ inner: integer(0) })),
});

describe('the typed body parser', () => {
  it('returns the fields it was given, of their types, and nothing else', () => {
    const value = {
      name: 'x',
      count: 3,
      flag: false,
      mode: 'b',
      every: '5m',
      data: [1],
      nested: { inner: 0 },
    };
    expect(shape.parse(value, '')).toEqual(value);
    expect(shape.parse({ name: 'y' }, '')).toEqual({ name: 'y' });
  });

  it.each([
    [{ name: 'x', colour: 1 }, 'colour', 'unknown field'],
    [{}, 'name', 'required'],
    [{ name: 'too long name' }, 'name', 'expected a string of at most 8 characters'],
    [{ name: 5 }, 'name', 'expected a string of at most 8 characters'],
    [{ name: 'x', count: 1.5 }, 'count', 'expected an integer from 1 to 10'],
    [{ name: 'x', count: 11 }, 'count', 'expected an integer from 1 to 10'],
    [{ name: 'x', count: '3' }, 'count', 'expected an integer from 1 to 10'],
    [{ name: 'x', flag: 'true' }, 'flag', 'expected true or false'],
    [{ name: 'x', mode: 'c' }, 'mode', 'expected one of a, b'],
    [
      { name: 'x', every: 0 },
      'every',
      'expected a positive integer of milliseconds or a string such as "90s"',
    ],
    [{ name: 'x', nested: [] }, 'nested', 'expected a JSON object'],
    [{ name: 'x', nested: {} }, 'nested.inner', 'required'],
    [{ name: 'x', nested: { inner: 1, more: 2 } }, 'nested.more', 'unknown field'],
  ])('refuses %j naming %s', (value, field, reason) => {
    expect(refusal(() => shape.parse(value, ''))).toEqual({ field, reason });
  });

  it('refuses a body that is not an object, naming "body"', () => {
    for (const value of [undefined, null, 'text', 3, [1]]) {
      expect(refusal(() => shape.parse(value, '')).field).toBe('body');
    }
  });

  it('describes each shape with the JSON Schema the OpenAPI document shows', () => {
    expect(shape.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', maxLength: 8 },
        count: { type: 'integer', minimum: 1, maximum: 10 },
        mode: { type: 'string', enum: ['a', 'b'] },
        nested: { type: 'object', required: ['inner'], additionalProperties: false },
      },
    });
  });
});

describe('query strings', () => {
  const query = object({ limit: optional(queryInteger(1, 100)), cursor: optional(string(10)) });

  it('reads integers from their decimal strings', () => {
    expect(parseQuery(query, { limit: '25', cursor: 'abc' })).toEqual({ limit: 25, cursor: 'abc' });
    expect(parseQuery(query, {})).toEqual({});
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '1e2' }, 'limit'],
    [{ limit: '-1' }, 'limit'],
    [{ limit: ['1', '2'] }, 'limit'],
    [{ page: '2' }, 'page'],
  ])('refuses %j naming %s', (value, field) => {
    expect(refusal(() => parseQuery(query, value)).field).toBe(field);
  });
});

describe('schedule bodies', () => {
  const body = { id: 'daily', handler: 'report', cron: '0 9 * * *', retry: { attempts: 3 } };

  it('become ScheduleInput with the ids of the path', () => {
    const created = CREATE_SCHEDULE_BODY.parse(body, '');
    expect(toScheduleInput(created, { tenantId: 'acme' })).toEqual({ ...body, tenantId: 'acme' });
    const replaced = REPLACE_SCHEDULE_BODY.parse({ handler: 'report', every: 60_000 }, '');
    expect(toScheduleInput(replaced, { tenantId: 'acme', id: 'x' })).toEqual({
      handler: 'report',
      every: 60_000,
      tenantId: 'acme',
      id: 'x',
    });
  });

  it('may repeat the ids of the path, never contradict them', () => {
    const same = REPLACE_SCHEDULE_BODY.parse({ ...body, tenantId: 'acme' }, '');
    expect(toScheduleInput(same, { tenantId: 'acme', id: 'daily' })).toMatchObject({ id: 'daily' });
    const other = CREATE_SCHEDULE_BODY.parse({ ...body, tenantId: 'globex' }, '');
    expect(refusal(() => toScheduleInput(other, { tenantId: 'acme' })).field).toBe('tenantId');
    const otherId = REPLACE_SCHEDULE_BODY.parse(body, '');
    expect(refusal(() => toScheduleInput(otherId, { tenantId: 'acme', id: 'x' })).field).toBe('id');
  });
});
