import type { SchedulerPrincipal } from '../scheduler-admin.options';

export type { SchedulerPrincipal };

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
