import { CanActivate, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';

type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

/** 'sha256:' + hex of the key (what the admin module's apiKeys option takes). */
export function sha256Key(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** Interim API-key guard until the admin module's built-in one lands (wip/admin-auth). */
export class InterimApiKeyGuard implements CanActivate {
  constructor(private readonly keys: { admin: string[]; tenants: Record<string, string[]> }) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      schedulerPrincipal?: Principal;
    }>();
    const auth = request.headers.authorization ?? '';
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : request.headers['x-api-key'];
    const principal = key ? this.find(sha256Key(key)) : undefined;
    if (!principal) {
      throw new UnauthorizedException({
        statusCode: 401,
        code: 'UNAUTHENTICATED',
        message: 'API key required',
      });
    }
    request.schedulerPrincipal = principal;
    return true;
  }

  private find(hash: string): Principal | undefined {
    const same = (h: string) =>
      h.length === hash.length && timingSafeEqual(Buffer.from(h), Buffer.from(hash));
    if (this.keys.admin.some(same)) return { kind: 'admin' };
    for (const [tenantId, hashes] of Object.entries(this.keys.tenants))
      if (hashes.some(same)) return { kind: 'tenant', tenantId };
    return undefined;
  }
}
