import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ADMIN_ROUTES, type AdminOperation } from './admin-routes';
import { AdminAuthenticator, type SchedulerPrincipal } from './auth';
import { tenantForbidden } from './auth/admin-http-errors';
import { ADMIN_ROUTE_METADATA, SCHEDULER_ADMIN_AUTHENTICATOR } from './scheduler-admin.constants';

/** The request as this guard reads it. */
interface AdminRequest {
  params?: Record<string, string | undefined>;
  schedulerPrincipal?: SchedulerPrincipal;
}

/**
 * The one guard of the admin routes (applied by the controller, never app-wide): public routes
 * pass; any other runs the AdminAuthenticator (the `auth` option: API keys, the app's own guard or
 * none; and the rate limit), then checks the principal it attached against the route's access: a
 * tenant principal reaches only its own `:tenantId`, admin routes need an admin principal (403
 * TENANT_FORBIDDEN otherwise).
 */
@Injectable()
export class SchedulerAdminGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(SCHEDULER_ADMIN_AUTHENTICATOR) private readonly authenticator: AdminAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const operation = this.reflector.get<AdminOperation | undefined>(
      ADMIN_ROUTE_METADATA,
      context.getHandler(),
    );
    const access = operation === undefined ? 'admin' : ADMIN_ROUTES[operation].access;
    if (access === 'public') return true;
    // Throws 401/403/429 itself; on success the request holds the principal.
    if (!(await this.authenticator.canActivate(context))) return false;
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const principal = request.schedulerPrincipal ?? { kind: 'admin' };
    if (principal.kind === 'admin') return true;
    if (access === 'tenant' && request.params?.tenantId === principal.tenantId) return true;
    throw tenantForbidden();
  }
}
