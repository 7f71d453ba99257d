import type { ScheduleWatermark } from '../interfaces/schedule-store.interface';
import type { RedisConnection } from '../redis/redis-client.provider';
import type { RedisClock } from '../time/redis-clock';

/**
 * The reconciler's mark in Redis (`<keyPrefix>:store-mark`), shared by every pod: set by a full
 * pass, it says Redis still holds what the passes wrote (gone: Redis lost its data), when the last
 * full pass ran, and the watermark the last pass reached. So a pod that boots, or whose turn comes,
 * goes on from any pod's last pass instead of comparing every row again.
 */
export interface StoreMark {
  /** When the last full pass ended (Redis time, ms: the same clock for every pod). */
  fullAt: number;
  watermark: ScheduleWatermark | null;
}

interface MarkJson {
  fullAt: number;
  w: [updatedAtMs: number, tenantId: string, id: string] | null;
}

export class StoreMarks {
  constructor(
    private readonly connection: RedisConnection,
    private readonly clock: RedisClock,
  ) {}

  /** Redis time (ms), the clock of `fullAt`. */
  now(): Promise<number> {
    return this.clock.fresh();
  }

  /**
   * The mark; 'lost' when the key is gone; null when it holds no shared state (a mark written by
   * an earlier version, which held a plain timestamp).
   */
  async read(): Promise<StoreMark | 'lost' | null> {
    const { client, keys } = this.connection;
    const raw = await client.get(keys.storeMark);
    if (raw === null) return 'lost';
    return decode(raw);
  }

  /** After a full pass: the mark (re)created. */
  async full(watermark: ScheduleWatermark | null): Promise<void> {
    const { client, keys } = this.connection;
    await client.set(keys.storeMark, encode({ fullAt: await this.now(), watermark }));
  }

  /**
   * After an incremental pass: the watermark moved on, only if the mark is still there (XX), so
   * that a loss during the pass is still seen by the next one.
   */
  async advance(mark: StoreMark, watermark: ScheduleWatermark | null): Promise<void> {
    const { client, keys } = this.connection;
    await client.set(keys.storeMark, encode({ fullAt: mark.fullAt, watermark }), 'XX');
  }
}

function encode(mark: StoreMark): string {
  const w = mark.watermark;
  const json: MarkJson = {
    fullAt: mark.fullAt,
    w: w ? [w.updatedAt.getTime(), w.tenantId, w.id] : null,
  };
  return JSON.stringify(json);
}

function decode(raw: string): StoreMark | null {
  try {
    const json = JSON.parse(raw) as Partial<MarkJson> | null;
    if (typeof json?.fullAt !== 'number') return null;
    const w = Array.isArray(json.w) ? json.w : null;
    const valid =
      w !== null &&
      typeof w[0] === 'number' &&
      typeof w[1] === 'string' &&
      typeof w[2] === 'string';
    return {
      fullAt: json.fullAt,
      watermark: valid ? { updatedAt: new Date(w[0]), tenantId: w[1], id: w[2] } : null,
    };
  } catch {
    return null;
  }
}
