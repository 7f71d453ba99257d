/**
 * Who is calling the admin API. The built-in API-key guard attaches it to the request as
 * `request.schedulerPrincipal`; an app's own guard (`auth: { guard }`) may set it too, and when it
 * does not, the request is treated as admin.
 */
export type SchedulerPrincipal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string };

/** The request as the admin module's guard leaves it. */
export interface SchedulerAdminRequest {
  schedulerPrincipal?: SchedulerPrincipal;
}

export const ADMIN_PRINCIPAL: SchedulerPrincipal = Object.freeze({ kind: 'admin' });

/** Whether `value` is a well-formed principal (checked on what an app's guard sets). */
export function isSchedulerPrincipal(value: unknown): value is SchedulerPrincipal {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, tenantId } = value as { kind?: unknown; tenantId?: unknown };
  if (kind === 'admin') return true;
  return kind === 'tenant' && typeof tenantId === 'string' && tenantId.length > 0;
}
