/** Options of a paged read: `tenants()` and `list(tenantId, options)`. */
export interface PageOptions {
  /** The `cursor` of the previous page; omit it for the first page. */
  cursor?: string;
  /** Most items on the page, 1 to 1,000. @default 100 */
  limit?: number;
}

/**
 * One page of a paged read, in ascending order of id. `cursor` is null on the last page; else pass
 * it to get the next page. Items created or removed between pages may or may not appear; none
 * that exists throughout is skipped or given twice.
 */
export interface Page<T> {
  items: T[];
  cursor: string | null;
}

/** A tenant as `tenants()` lists it. */
export interface TenantSummary {
  tenantId: string;
  /** Schedules it owns (what its quota counts). */
  schedules: number;
  /** pauseTenant() holds it: none of its schedules fires until resumeTenant(). */
  paused: boolean;
}
