// The admin module's authentication and rate limiting (the public part is re-exported by ../index.ts).
export { hashApiKey, generateApiKey, API_KEY_MIN_LENGTH } from './api-key';
export { InvalidApiKeyError, InvalidAdminAuthOptionsError } from './admin-auth.errors';
export type {
  AdminApiKeys,
  AdminAuthOptions,
  AdminAuthSettings,
  AdminRateLimitOptions,
} from './admin-auth.options';
export type { SchedulerPrincipal, SchedulerAdminRequest } from './scheduler-principal';
export { AdminAuthenticator } from './admin-authenticator';
