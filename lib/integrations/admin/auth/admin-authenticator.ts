import {
  CanActivate,
  ExecutionContext,
  HttpException,
  Logger,
  OnApplicationShutdown,
  Type,
} from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { AdminAuthSettings, resolveAdminAccess, ResolvedAdminAuth } from './admin-auth.options';
import { forbidden, setResponseHeader, unauthenticated } from './admin-http-errors';
import { AdminRateLimiter } from './admin-rate-limiter';
import {
  AdminHttpRequest,
  addressTracker,
  credentialTracker,
  presentedKey,
} from './request-credentials';
import { ADMIN_PRINCIPAL, isSchedulerPrincipal, SchedulerPrincipal } from './scheduler-principal';

/** Who the caller is (null: nobody), what to count the request against, and why it failed. */
interface Identity {
  principal: SchedulerPrincipal | null;
  tracker: string;
  failure?: unknown;
}

/**
 * Authenticates an admin request and rate-limits it; the admin module's guard runs it on every
 * non-public admin route (never app-wide), then checks the principal against the route. In order:
 * identify the caller (built-in API keys, the app's guard, or nobody with `auth: 'none'`), count
 * the request against its key's hash (or the client address without a valid key) and refuse with
 * 429 over the limit, then refuse an unknown caller (401 with `WWW-Authenticate: Bearer`). On
 * success `request.schedulerPrincipal` holds the principal. Keys are hashed, never logged.
 */
export class AdminAuthenticator implements CanActivate, OnApplicationShutdown {
  private readonly logger = new Logger('SchedulerAdminAuth');
  private appGuard?: Promise<CanActivate>;

  private constructor(
    private readonly auth: ResolvedAdminAuth,
    private readonly limiter: AdminRateLimiter | null,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Checks the `auth` and `rateLimit` options (a plain key or a malformed hash fails the boot,
   * naming the entry) and loads @nestjs/throttler unless `rateLimit: false`. `moduleRef` resolves
   * an app guard class.
   */
  static async create(
    settings: AdminAuthSettings,
    moduleRef: ModuleRef,
  ): Promise<AdminAuthenticator> {
    const { auth, rateLimit } = resolveAdminAccess(settings);
    const limiter = rateLimit && (await AdminRateLimiter.create(rateLimit));
    return new AdminAuthenticator(auth, limiter, moduleRef);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<AdminHttpRequest>();
    const identity = await this.identify(context, request);
    await this.limiter?.consume(context, identity.tracker);
    if (identity.failure !== undefined) throw identity.failure;
    if (identity.principal === null) {
      setResponseHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', 'Bearer');
      throw unauthenticated();
    }
    request.schedulerPrincipal = identity.principal;
    return true;
  }

  onApplicationShutdown(): void {
    this.limiter?.close();
  }

  private async identify(context: ExecutionContext, request: AdminHttpRequest): Promise<Identity> {
    const { auth } = this;
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
      const verdict = (await this.appGuard).canActivate(context);
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

  /** An app guard class: the app's instance when it has one, else one created in this module. */
  private async instantiate(option: Type<CanActivate> | CanActivate): Promise<CanActivate> {
    if (typeof option !== 'function') return option;
    try {
      return this.moduleRef.get(option, { strict: false });
    } catch {
      return this.moduleRef.create(option);
    }
  }
}
