import type { JsonSchema } from './admin-schema';

const date = { type: 'string', format: 'date-time' };
const nullable = (schema: JsonSchema): JsonSchema => ({ oneOf: [schema, { type: 'null' }] });
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const list = (item: string): JsonSchema => ({
  type: 'object',
  properties: { items: { type: 'array', items: ref(item) } },
  required: ['items'],
});
const page = (item: string): JsonSchema => ({
  type: 'object',
  properties: {
    items: { type: 'array', items: ref(item) },
    cursor: nullable({ type: 'string', description: 'Pass it as ?cursor= for the next page' }),
  },
  required: ['items', 'cursor'],
});

/** The response schemas the route table names (components.schemas of the document). */
export const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  Error: {
    type: 'object',
    properties: {
      statusCode: { type: 'integer' },
      code: { type: 'string', description: 'Stable, e.g. VALIDATION_FAILED, SCHEDULE_NOT_FOUND' },
      message: { type: 'string' },
      field: { type: 'string', description: 'The request field at fault, when there is one' },
    },
    required: ['statusCode', 'code', 'message'],
  },
  Schedule: {
    type: 'object',
    description: 'A stored schedule (SchedulerService.get), dates as ISO strings',
    properties: {
      tenantId: { type: 'string' },
      id: { type: 'string' },
      cron: { type: 'string' },
      resolvedCron: { type: 'string' },
      every: { oneOf: [{ type: 'integer' }, { type: 'string' }] },
      at: date,
      timeZone: { type: 'string' },
      handler: { type: 'string' },
      payload: {},
      jitterMs: { type: 'integer' },
      enabled: { type: 'boolean' },
      state: { enum: ['active', 'paused', 'parked', 'finished'] },
      tenantPaused: { type: 'boolean' },
      parked: nullable({
        type: 'object',
        properties: { at: date, reason: { type: 'string' } },
      }),
      nextFireAt: nullable(date),
      createdAt: date,
      updatedAt: date,
      lastFireAt: nullable(date),
      lastStatus: nullable({ enum: ['succeeded', 'failed'] }),
      lastError: nullable({ type: 'string' }),
      running: { type: 'boolean' },
      skippedFires: { type: 'integer' },
    },
    required: ['tenantId', 'id', 'handler', 'state', 'enabled', 'nextFireAt'],
  },
  SchedulePage: page('Schedule'),
  RunRecord: {
    type: 'object',
    properties: {
      sequence: { type: 'integer' },
      fireTime: date,
      attempt: { type: 'integer' },
      fencingToken: { type: 'integer' },
      status: { enum: ['succeeded', 'failed', 'retry'] },
      startedAt: nullable(date),
      endedAt: date,
      durationMs: nullable({ type: 'integer' }),
      podId: { type: 'string' },
      error: nullable({ type: 'string' }),
    },
    required: ['fireTime', 'attempt', 'status', 'endedAt'],
  },
  RunList: list('RunRecord'),
  ScheduleDescription: {
    type: 'object',
    properties: {
      schedule: ref('Schedule'),
      nextFires: {
        type: 'array',
        items: { type: 'object', properties: { fireTime: date, dueAt: date } },
      },
      lastRuns: { type: 'array', items: ref('RunRecord') },
      counters: {
        type: 'object',
        properties: {
          runs: { type: 'integer' },
          failures: { type: 'integer' },
          skipped: { type: 'integer' },
        },
      },
    },
    required: ['schedule', 'nextFires', 'lastRuns', 'counters'],
  },
  TriggerResult: {
    oneOf: [
      {
        type: 'object',
        properties: {
          triggered: { const: true },
          fireTime: date,
          idempotencyKey: { type: 'string' },
        },
        required: ['triggered', 'fireTime', 'idempotencyKey'],
      },
      {
        type: 'object',
        properties: {
          triggered: { const: false },
          reason: { enum: ['running', 'paused', 'parked', 'finished'] },
        },
        required: ['triggered', 'reason'],
      },
    ],
  },
  TenantChange: {
    type: 'object',
    properties: {
      tenantId: { type: 'string' },
      schedules: { type: 'integer', description: 'Schedules the change applied to' },
    },
    required: ['tenantId', 'schedules'],
  },
  TenantSummary: {
    type: 'object',
    properties: {
      tenantId: { type: 'string' },
      schedules: { type: 'integer' },
      paused: { type: 'boolean' },
    },
    required: ['tenantId', 'schedules', 'paused'],
  },
  TenantPage: page('TenantSummary'),
  Circuit: {
    type: 'object',
    properties: {
      host: { type: 'string' },
      state: { enum: ['closed', 'open', 'half-open'] },
      consecutiveFailures: { type: 'integer' },
      openedAt: nullable(date),
      retryAt: nullable(date),
    },
    required: ['host', 'state', 'consecutiveFailures', 'openedAt', 'retryAt'],
  },
  CircuitList: list('Circuit'),
};
