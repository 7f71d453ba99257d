import { object, optional, queryInteger, string, type Field } from './admin-schema';
import { CREATE_SCHEDULE_BODY, REPLACE_SCHEDULE_BODY } from './schedule-body';

/**
 * 'public': no key needed. 'tenant': the `:tenantId` of the path is the principal's own (or the
 * principal is admin). 'admin': admin principals only.
 */
export type RouteAccess = 'public' | 'tenant' | 'admin';

/** One route of the admin API: what mounts it, checks its input and documents it. */
export interface AdminRouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative to the module's path, in Nest's syntax (`:tenantId`). */
  readonly path: string;
  readonly summary: string;
  /** Status of a success. */
  readonly status: 200 | 201 | 202 | 204;
  readonly access: RouteAccess;
  readonly query?: Field<unknown>;
  readonly body?: Field<unknown>;
  /** Name of the response's schema in the OpenAPI components; none for 204. */
  readonly response?: string;
  /** What a success is when not JSON: the dashboard's page and files. */
  readonly media?: 'text/html' | 'application/octet-stream';
  /** Statuses of errors the route itself answers (beyond 401, 403, 429 and 500). */
  readonly errors: readonly number[];
}

const PAGE_QUERY = object({
  limit: optional(queryInteger(1, 1_000)),
  cursor: optional(string(1_000)),
});
const SCHEDULE = 'tenants/:tenantId/schedules/:id';

/**
 * The admin API: each entry is mounted by the controller method of the same name (AdminRoute)
 * and documented by GET /openapi.json from this table alone.
 */
export const ADMIN_ROUTES = {
  createSchedule: {
    method: 'POST',
    path: 'tenants/:tenantId/schedules',
    summary: 'Create a schedule (409 if the id exists: PUT replaces)',
    status: 201,
    access: 'tenant',
    body: CREATE_SCHEDULE_BODY,
    response: 'Schedule',
    errors: [400, 409, 413, 415],
  },
  listSchedules: {
    method: 'GET',
    path: 'tenants/:tenantId/schedules',
    summary: "One page of the tenant's schedules, by id",
    status: 200,
    access: 'tenant',
    query: PAGE_QUERY,
    response: 'SchedulePage',
    errors: [400],
  },
  describeSchedule: {
    method: 'GET',
    path: SCHEDULE,
    summary: 'A schedule with its state, counters, next fire times and last runs',
    status: 200,
    access: 'tenant',
    query: object({
      next: optional(queryInteger(0, 100)),
      last: optional(queryInteger(0, 100)),
    }),
    response: 'ScheduleDescription',
    errors: [400, 404],
  },
  replaceSchedule: {
    method: 'PUT',
    path: SCHEDULE,
    summary: 'Create or replace a schedule',
    status: 200,
    access: 'tenant',
    body: REPLACE_SCHEDULE_BODY,
    response: 'Schedule',
    errors: [400, 409, 413, 415],
  },
  removeSchedule: {
    method: 'DELETE',
    path: SCHEDULE,
    summary: 'Remove a schedule: it never starts again',
    status: 204,
    access: 'tenant',
    errors: [400, 404],
  },
  pauseSchedule: {
    method: 'POST',
    path: `${SCHEDULE}/pause`,
    summary: 'Stop a schedule until it is resumed',
    status: 200,
    access: 'tenant',
    response: 'Schedule',
    errors: [400, 404],
  },
  resumeSchedule: {
    method: 'POST',
    path: `${SCHEDULE}/resume`,
    summary: 'Fire again from the next fire time after now',
    status: 200,
    access: 'tenant',
    response: 'Schedule',
    errors: [400, 404, 409],
  },
  triggerSchedule: {
    method: 'POST',
    path: `${SCHEDULE}/trigger`,
    summary: 'Start one extra run now, exactly once (or say why it was refused)',
    status: 202,
    access: 'tenant',
    response: 'TriggerResult',
    errors: [400, 404],
  },
  listRuns: {
    method: 'GET',
    path: `${SCHEDULE}/runs`,
    summary: "The schedule's recorded runs, newest first",
    status: 200,
    access: 'tenant',
    query: object({ limit: optional(queryInteger(1, 1_000)) }),
    response: 'RunList',
    errors: [400, 404],
  },
  pauseTenant: {
    method: 'POST',
    path: 'tenants/:tenantId/pause',
    summary: 'Stop every schedule of the tenant (each keeps its own state)',
    status: 200,
    access: 'tenant',
    response: 'TenantChange',
    errors: [400],
  },
  resumeTenant: {
    method: 'POST',
    path: 'tenants/:tenantId/resume',
    summary: 'Put each schedule of the tenant back to its own state',
    status: 200,
    access: 'tenant',
    response: 'TenantChange',
    errors: [400],
  },
  tenantCircuits: {
    method: 'GET',
    path: 'tenants/:tenantId/circuits',
    summary: "Circuit breakers of the hosts the tenant's HTTP schedules call (this process)",
    status: 200,
    access: 'tenant',
    response: 'CircuitList',
    errors: [400],
  },
  listTenants: {
    method: 'GET',
    path: 'tenants',
    summary: 'One page of tenants with their schedule counts (admin)',
    status: 200,
    access: 'admin',
    query: PAGE_QUERY,
    response: 'TenantPage',
    errors: [400],
  },
  listCircuits: {
    method: 'GET',
    path: 'circuits',
    summary: 'Every remembered circuit breaker of this process (admin)',
    status: 200,
    access: 'admin',
    response: 'CircuitList',
    errors: [],
  },
  openApi: {
    method: 'GET',
    path: 'openapi.json',
    summary: 'This document',
    status: 200,
    access: 'public',
    errors: [],
  },
  dashboardPage: {
    method: 'GET',
    path: '',
    summary: 'The dashboard (no key to load it; its API calls need one); 404 with dashboard: false',
    status: 200,
    access: 'public',
    media: 'text/html',
    errors: [404],
  },
  dashboardAsset: {
    method: 'GET',
    path: 'assets/:name',
    summary: "The dashboard's scripts, styles and images",
    status: 200,
    access: 'public',
    media: 'application/octet-stream',
    errors: [404],
  },
} as const satisfies Record<string, AdminRouteSpec>;

export type AdminOperation = keyof typeof ADMIN_ROUTES;

/** Every operation of the table, in its order. */
export const ADMIN_OPERATIONS = Object.keys(ADMIN_ROUTES) as AdminOperation[];
