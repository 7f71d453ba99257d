import {
  CanActivate,
  ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  Logger,
  Optional,
  Type,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { ADMIN_ACCESS, ADMIN_PUBLIC_ROUTE, ADMIN_RATE_LIMITER } from './admin-auth.constants';
import type { ResolvedAdminAccess } from './admin-auth.options';
import {
  forbidden,
  setResponseHeader,
  tenantForbidden,
  unauthenticated,
} from './admin-http-errors';
import type { AdminRateLimiter } from './admin-rate-limiter';
import {
  AdminHttpRequest,
  addressTracker,
  credentialTracker,
  presentedKey,
  routeTenantId,
} from './request-credentials';
import {
  ADMIN_PRINCIPAL,
  isSchedulerPrincipal,
  mayUseRoute,
  SchedulerPrincipal,
} from './scheduler-principal';

/** Who the caller is (null: nobody), what to count the request against, and why it failed. */
interface Identity {
  principal: SchedulerPrincipal | null;
  tracker: string;
  failure?: unknown;
}

/**
 * The admin module's guard, applied to its own controllers only (never app-wide). In order:
 * identify the caller (built-in API keys, or the app's guard), count the request against its key
 * (or address) and refuse with 429 over the limit, then refuse an unknown caller (401 with
 * `WWW-Authenticate: Bearer`) and a tenant outside its own `:tenantId` routes (403). On success
 * `request.schedulerPrincipal` holds the principal. Routes marked AdminPublicRoute() need no
 * principal (they are still rate-limited, per address). Keys are never logged.
 */
@Injectable()
export class SchedulerAdminGuard implements CanActivate {
  private readonly logger = new Logger(SchedulerAdminGuard.name);
  private appGuard?: Promise<CanActivate>;

  constructor(
    @Inject(ADMIN_ACCESS) private readonly access: ResolvedAdminAccess,
    private readonly reflector: Reflector,
    private readonly moduleRef: ModuleRef,
    @Optional() @Inject(ADMIN_RATE_LIMITER) private readonly limiter: AdminRateLimiter | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<AdminHttpRequest>();
    const open = this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const identity: Identity = open
      ? { principal: null, tracker: addressTracker(request) }
      : await this.identify(context, request);
    await this.limiter?.consume(context, identity.tracker);
    if (open) return true;
    if (identity.failure !== undefined) throw identity.failure;
    if (identity.principal === null) {
      setResponseHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', 'Bearer');
      throw unauthenticated();
    }
    if (!mayUseRoute(identity.principal, routeTenantId(request))) throw tenantForbidden();
    request.schedulerPrincipal = identity.principal;
    return true;
  }

  private async identify(context: ExecutionContext, request: AdminHttpRequest): Promise<Identity> {
    const { auth } = this.access;
    if (auth.mode === 'none')
      return { principal: ADMIN_PRINCIPAL, tracker: addressTracker(request) };
    if (auth.mode === 'keys') {
      const key = presentedKey(request);
      const match = key === undefined ? null : auth.keys.identify(key);
      if (match === null) return { principal: null, tracker: addressTracker(request) };
      return { principal: match.principal, tracker: `key:${match.hash}` };
    }
    return this.askAppGuard(context, request, auth.guard);
  }

  /** Runs the app's guard; what it sets as `request.schedulerPrincipal` (default admin) is used. */
  private async askAppGuard(
    context: ExecutionContext,
    request: AdminHttpRequest,
    option: Type<CanActivate> | CanActivate,
  ): Promise<Identity> {
    const refused = (failure: unknown): Identity => ({
      principal: null,
      tracker: addressTracker(request),
      failure,
    });
    try {
      this.appGuard ??= this.instantiate(option);
      const guard = await this.appGuard;
      const verdict = guard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      if (!allowed) return refused(forbidden());
    } catch (error) {
      // A refusal (401, 403, ...) is still counted against the address; a bug is not a refusal.
      if (error instanceof HttpException) return refused(error);
      throw error;
    }
    const principal = request.schedulerPrincipal ?? ADMIN_PRINCIPAL;
    if (!isSchedulerPrincipal(principal)) {
      this.logger.warn(
        "The app's admin guard set request.schedulerPrincipal to a value that is not " +
          "{ kind: 'admin' } or { kind: 'tenant', tenantId }: request refused.",
      );
      return refused(forbidden());
    }
    return { principal, tracker: credentialTracker(request) };
  }

  private async instantiate(option: Type<CanActivate> | CanActivate): Promise<CanActivate> {
    if (typeof option !== 'function') return option;
    try {
      return this.moduleRef.get(option, { strict: false });
    } catch {
      return this.moduleRef.create(option);
    }
  }
}
