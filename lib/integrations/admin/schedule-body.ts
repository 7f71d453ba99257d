import type { ScheduleInput } from '../../index';
import { AdminValidationError } from './admin.errors';
import {
  boolean,
  integer,
  json,
  msOrString,
  object,
  oneOf,
  optional,
  string,
  type ObjectOf,
} from './admin-schema';

/**
 * The request bodies of POST .../schedules and PUT .../schedules/:id: ScheduleInput as JSON. The
 * parser checks shapes and types (unknown fields refused); what only the scheduler knows (a valid
 * cron, a known zone or handler, the tenant's limits) it checks itself, with its typed errors.
 */
const definition = {
  cron: optional(string(256)),
  every: optional(msOrString()),
  at: optional(string(64)),
  timeZone: optional(string(64)),
  handler: string(128),
  payload: optional(json()),
  jitterMs: optional(integer(0)),
  enabled: optional(boolean()),
  retry: optional(
    object({
      attempts: optional(integer(1, 1_000)),
      backoff: optional(oneOf('fixed', 'exponential')),
      delayMs: optional(integer(0)),
      maxDelayMs: optional(integer(0)),
      jitter: optional(boolean()),
    }),
  ),
  timeoutMs: optional(integer(0)),
  misfire: optional(oneOf('runOnce', 'skip', 'runAll')),
  catchUpWindowMs: optional(integer(0)),
  maxCatchUp: optional(integer(0)),
  overlap: optional(oneOf('skip', 'allow', 'bufferOne')),
};

/** POST .../schedules: the id is in the body; a tenantId there must be the path's. */
export const CREATE_SCHEDULE_BODY = object({
  tenantId: optional(string(128)),
  id: string(128),
  ...definition,
});

/** PUT .../schedules/:id: ids come from the path; any given in the body must match it. */
export const REPLACE_SCHEDULE_BODY = object({
  tenantId: optional(string(128)),
  id: optional(string(128)),
  ...definition,
});

type Ids = { tenantId?: string; id?: string };

/** The ScheduleInput of a parsed body, with the path's ids (which the body may only repeat). */
export function toScheduleInput(
  body: ObjectOf<typeof CREATE_SCHEDULE_BODY.shape> | ObjectOf<typeof REPLACE_SCHEDULE_BODY.shape>,
  path: { tenantId: string; id?: string },
): ScheduleInput {
  const ids: Ids = body;
  if (ids.tenantId !== undefined && ids.tenantId !== path.tenantId) {
    throw new AdminValidationError(
      'tenantId',
      `must be "${path.tenantId}", the tenant of the path`,
    );
  }
  if (path.id !== undefined && ids.id !== undefined && ids.id !== path.id) {
    throw new AdminValidationError('id', `must be "${path.id}", the schedule of the path`);
  }
  const id = path.id ?? ids.id;
  if (id === undefined) throw new AdminValidationError('id', 'required');
  return { ...body, tenantId: path.tenantId, id } as ScheduleInput;
}
