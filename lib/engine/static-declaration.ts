import type { StaticScheduleSpec } from '../discovery/handler.registry';
import type { DeclareReply } from '../redis/protocol/registry.codec';

/** What a pod declares of one static schedule, as declareStatic-1.lua stores it. */
export interface StaticDeclaration {
  name: string;
  /** 'Class.method' of the decorated method. */
  source: string;
  /** encodeTiming() of its spec. */
  timing: string;
}

/** How this pod's declaration of a static compares with the other live pods'. */
export type DeclarationVerdict =
  | { kind: 'agreed' }
  /** Another service on the same keyPrefix declares the name (nothing was written). */
  | { kind: 'other-source'; sources: PeerGroup[] }
  /** The same method with another timing: a rolling deploy that changes it. */
  | { kind: 'other-timing'; timings: PeerGroup[] };

/** A source or a timing, and the live pods that declare it. */
export interface PeerGroup {
  value: string;
  pods: string[];
}

/** The timing a pod declares: what must agree between pods of one version. */
export function encodeTiming(spec: Pick<StaticScheduleSpec, 'cron' | 'timeZone' | 'jitterMs'>) {
  return JSON.stringify({ cron: spec.cron, timeZone: spec.timeZone, jitterMs: spec.jitterMs });
}

/** '"0 * * * *" (UTC, jitter 0 ms)', or the raw text of a timing this version cannot read. */
export function describeTiming(timing: string): string {
  try {
    const { cron, timeZone, jitterMs } = JSON.parse(timing) as Record<string, unknown>;
    if (typeof cron === 'string' && typeof timeZone === 'string' && typeof jitterMs === 'number') {
      return `"${cron}" (${timeZone}, jitter ${jitterMs} ms)`;
    }
  } catch {
    // written by another version: shown as it is
  }
  return timing;
}

/** Another source wins over another timing: it means two services, not a deploy. */
export function judgeDeclaration(mine: StaticDeclaration, reply: DeclareReply): DeclarationVerdict {
  const sources = groupBy(
    reply.others.filter((o) => o.source !== mine.source),
    (o) => o.source,
  );
  if (!reply.written || sources.length > 0) return { kind: 'other-source', sources };
  const timings = groupBy(
    reply.others.filter((o) => o.timing !== mine.timing),
    (o) => o.timing,
  );
  return timings.length > 0 ? { kind: 'other-timing', timings } : { kind: 'agreed' };
}

function groupBy<T extends { podId: string }>(items: T[], key: (item: T) => string): PeerGroup[] {
  const groups = new Map<string, string[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item.podId]);
  return [...groups].map(([value, pods]) => ({ value, pods: pods.sort() }));
}
