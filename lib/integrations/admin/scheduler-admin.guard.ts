import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { ADMIN_ROUTES, type AdminOperation } from './admin-routes';
import { ADMIN_ROUTE_METADATA, SCHEDULER_ADMIN_AUTHENTICATOR } from './scheduler-admin.constants';
import type { SchedulerPrincipal } from './scheduler-admin.options';

/** The request as this guard reads it. */
interface AdminRequest {
  params?: Record<string, string | undefined>;
  schedulerPrincipal?: SchedulerPrincipal;
}

/**
 * The one guard of the admin routes (applied by the controller, never app-wide): public routes
 * pass; any other runs the `auth` guard (the built-in API-key guard or the app's own), then checks
 * the principal it attached against the route's access: a tenant principal reaches only its own
 * `:tenantId`, admin routes need an admin principal (403 TENANT_FORBIDDEN otherwise).
 */
@Injectable()
export class SchedulerAdminGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Optional()
    @Inject(SCHEDULER_ADMIN_AUTHENTICATOR)
    private readonly authenticator: CanActivate | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const operation = this.reflector.get<AdminOperation | undefined>(
      ADMIN_ROUTE_METADATA,
      context.getHandler(),
    );
    const access = operation === undefined ? 'admin' : ADMIN_ROUTES[operation].access;
    if (access === 'public') return true;
    if (this.authenticator && !(await settle(this.authenticator.canActivate(context)))) {
      return false;
    }
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const principal = request.schedulerPrincipal ?? { kind: 'admin' };
    if (principal.kind === 'admin') return true;
    if (access === 'tenant' && request.params?.tenantId === principal.tenantId) return true;
    throw new ForbiddenException({
      statusCode: 403,
      code: 'TENANT_FORBIDDEN',
      message:
        access === 'admin'
          ? 'This route needs an admin key; a tenant key reaches only its own tenant.'
          : `This key belongs to tenant "${principal.tenantId}": it reaches only /tenants/${principal.tenantId}/...`,
    });
  }
}

async function settle(
  result: boolean | Promise<boolean> | import('rxjs').Observable<boolean>,
): Promise<boolean> {
  return isObservable(result) ? lastValueFrom(result) : result;
}
