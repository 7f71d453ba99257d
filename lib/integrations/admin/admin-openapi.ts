import { ADMIN_OPERATIONS, ADMIN_ROUTES, type AdminRouteSpec } from './admin-routes';
import type { JsonSchema } from './admin-schema';
import { RESPONSE_SCHEMAS } from './admin-openapi.schemas';
import type { AdminAuthOptions } from './auth';

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (VALIDATION_FAILED names the field) or refused by the scheduler',
  401: 'No key, or an unknown one (UNAUTHENTICATED)',
  403: "A tenant key on another tenant's route or an admin route (TENANT_FORBIDDEN)",
  404: 'No such schedule (SCHEDULE_NOT_FOUND)',
  409: 'Conflict: SCHEDULE_EXISTS, TENANT_QUOTA_EXCEEDED, ...',
  413: 'Payload too large (PAYLOAD_TOO_LARGE)',
  415: 'The body was not sent as JSON (UNSUPPORTED_MEDIA_TYPE)',
  429: 'Too many requests for this key (RATE_LIMITED)',
  500: 'Unexpected error (INTERNAL_ERROR), logged by the server',
};

const SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
};

const errorResponse = (status: number) => ({
  description: ERROR_TEXT[status],
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** `tenants/:tenantId/schedules` → `/{prefix}/tenants/{tenantId}/schedules`. */
export function openApiPath(prefix: string, path: string): string {
  const full = [prefix, path].filter(Boolean).join('/');
  return `/${full.replace(/:([A-Za-z]+)/g, '{$1}')}`;
}

function parameters(route: AdminRouteSpec): JsonSchema[] {
  const inPath = [...route.path.matchAll(/:([A-Za-z]+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', maxLength: 128 },
  }));
  const query = route.query?.schema.properties as Record<string, JsonSchema> | undefined;
  const inQuery = Object.entries(query ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: false,
    schema,
  }));
  return [...inPath, ...inQuery];
}

function operation(id: string, route: AdminRouteSpec, secured: boolean): JsonSchema {
  const schema = route.media
    ? { type: 'string' }
    : route.response && { $ref: `#/components/schemas/${route.response}` };
  const success = schema
    ? { description: 'Success', content: { [route.media ?? 'application/json']: { schema } } }
    : { description: 'Done' };
  const errors = [...route.errors, ...(route.access === 'public' ? [] : [401, 403, 429]), 500];
  const op: JsonSchema = {
    operationId: id,
    summary: route.summary,
    tags: [route.access === 'admin' ? 'admin' : route.access === 'public' ? 'meta' : 'tenant'],
    parameters: parameters(route),
    responses: {
      [route.status]: success,
      ...Object.fromEntries(errors.map((status) => [status, errorResponse(status)])),
    },
  };
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: route.body.schema } },
    };
  }
  if (route.access === 'public' && secured) op.security = [];
  return op;
}

/**
 * The OpenAPI 3.1 document of the admin API, built from ADMIN_ROUTES alone; paths include the
 * module's mount path (`prefix`).
 */
export function buildOpenApiDocument(prefix: string, auth: AdminAuthOptions): JsonSchema {
  // The built-in guard's schemes; an app's own guard documents its own.
  const secured = typeof auth === 'object' && 'apiKeys' in auth;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const id of ADMIN_OPERATIONS) {
    const route: AdminRouteSpec = ADMIN_ROUTES[id];
    const path = openApiPath(prefix, route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(id, route, secured) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'nestjs-redis-scheduler admin API',
      version: '1',
      description: 'Per-tenant schedules, their runs, tenant controls and circuit breakers.',
    },
    paths,
    components: { schemas: RESPONSE_SCHEMAS, ...(secured && { securitySchemes: SCHEMES }) },
    ...(secured && { security: [{ bearer: [] }, { apiKey: [] }] }),
  };
}
