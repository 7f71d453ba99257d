import type { RedisScripts } from '../redis/redis-scripts';

/** A held lock. `release` and `extend` succeed only while this owner still holds it. */
export class Lock {
  constructor(
    readonly key: string,
    readonly token: string,
    /** Larger than every token issued before for the same key; pass it to the resource you protect. */
    readonly fencingToken: number,
    private readonly redisKey: string,
    private readonly scripts: RedisScripts,
  ) {}

  /** Sets the lock to expire `ttlMs` from now; false if it is no longer ours. */
  async extend(ttlMs: number): Promise<boolean> {
    return this.scripts.extendLock(this.redisKey, this.token, ttlMs);
  }

  /** Releases the lock; false if it was no longer ours (expired or taken). */
  async release(): Promise<boolean> {
    return this.scripts.releaseLock(this.redisKey, this.token);
  }
}
