/** The label of runs without a tenant (static schedules). */
export const NO_TENANT = '';
/** The label of every tenant outside the top N. */
export const OTHER_TENANTS = 'other';

/**
 * Bounds the `tenant` label to the `topN` tenants with the most runs seen by this pod, the rest
 * as 'other'. A tenant enters the top N when it has more than twice the runs of the least of them,
 * which counts as 'other' from then on (its past series stay); the factor keeps tenants of equal
 * load from taking turns, which would make new series every time. Counts of tenants outside the top N are
 * forgotten when they pass 100 × topN, so memory stays bounded too.
 */
export class TenantLabels {
  private readonly counts = new Map<string, number>();
  private readonly top = new Set<string>();

  constructor(private readonly topN: number) {}

  label(tenantId: string | undefined): string {
    if (tenantId === undefined) return NO_TENANT;
    const count = (this.counts.get(tenantId) ?? 0) + 1;
    this.counts.set(tenantId, count);
    if (this.top.has(tenantId)) return tenantId;
    if (this.top.size < this.topN) {
      this.top.add(tenantId);
      return tenantId;
    }
    let least: string | undefined;
    let leastCount = Infinity;
    for (const t of this.top) {
      const c = this.counts.get(t) ?? 0;
      if (c < leastCount) [least, leastCount] = [t, c];
    }
    if (least !== undefined && count > 2 * leastCount) {
      this.top.delete(least);
      this.top.add(tenantId);
      return tenantId;
    }
    if (this.counts.size > 100 * this.topN) this.forgetOthers();
    return OTHER_TENANTS;
  }

  /** The label `tenantId` has now, without counting a run of it (for series other than runs). */
  current(tenantId: string | undefined): string {
    if (tenantId === undefined) return NO_TENANT;
    return this.top.has(tenantId) ? tenantId : OTHER_TENANTS;
  }

  private forgetOthers(): void {
    for (const t of this.counts.keys()) if (!this.top.has(t)) this.counts.delete(t);
  }
}
