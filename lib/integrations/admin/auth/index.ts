// The admin module's authentication, tenant isolation and rate limiting (re-exported by ../index.ts).
export { hashApiKey, generateApiKey, API_KEY_MIN_LENGTH } from './api-key';
export { InvalidApiKeyError, InvalidAdminAuthOptionsError } from './admin-auth.errors';
export type {
  AdminApiKeys,
  AdminAuthOptions,
  AdminAuthSettings,
  AdminRateLimitOptions,
} from './admin-auth.options';
export type { SchedulerPrincipal, SchedulerAdminRequest } from './scheduler-principal';
export { SchedulerAdminGuard } from './scheduler-admin.guard';
export { AdminPublicRoute } from './admin-auth.decorators';
export { adminAuthProviders } from './admin-auth.providers';
