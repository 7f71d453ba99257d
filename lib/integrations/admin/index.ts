// nestjs-redis-scheduler/admin: the admin REST API. The core never loads it.
export { SchedulerAdminModule } from './scheduler-admin.module';
export type { SchedulerAdminExtras, SchedulerAdminOptions } from './scheduler-admin.options';
export {
  hashApiKey,
  generateApiKey,
  API_KEY_MIN_LENGTH,
  InvalidApiKeyError,
  InvalidAdminAuthOptionsError,
} from './auth';
export type {
  AdminApiKeys,
  AdminAuthOptions,
  AdminRateLimitOptions,
  SchedulerPrincipal,
  SchedulerAdminRequest,
} from './auth';
export { ADMIN_ROUTES } from './admin-routes';
export type { AdminOperation, AdminRouteSpec, RouteAccess } from './admin-routes';
export type { AdminCircuit } from './admin-circuits';
export type { AdminErrorBody } from './scheduler-admin.filter';
export { buildOpenApiDocument } from './admin-openapi';
export { AdminValidationError, ScheduleExistsError, ScheduleNotFoundError } from './admin.errors';
export { DASHBOARD_CSP } from './dashboard/scheduler-dashboard.controller';
export { SchedulerAdminGuard } from './scheduler-admin.guard';
export { ADMIN_ROUTE_METADATA } from './scheduler-admin.constants';
