import { Logger } from '@nestjs/common';
import type { KeySpace } from '../redis/key-space';
import type { Share } from '../redis/protocol/run.types';
import type { RedisScripts } from '../redis/redis-scripts';
import { timerDelay } from '../time/timer-delay';

/** What the registry asks of Redis (a unit test passes a plain function). */
export type HeartbeatPort = Pick<RedisScripts, 'heartbeat'>;

const ALONE: Share = { pods: 1, rank: 0 };
/** A pod that missed this many heartbeats is out of the registry. */
const MISSED_BEATS = 3;

/**
 * Which live pods run each handler, so that they share its schedules: a schedule is assigned to
 * the pod whose rank is its incarnation number modulo the number of pods, and only that pod
 * reserves its fire times ahead or keeps them from one run to the next. What is due is claimed by
 * whichever pod comes first, so an assignment never delays a run. Every pod heartbeats in one
 * registry (a sorted set, heartbeat expiry as score) per handler it has; one that stops is out
 * after three missed beats, and one that shuts down leaves at once, so the others take over its
 * share.
 */
export class PodRegistry {
  private readonly logger = new Logger('RedisScheduler');
  private readonly shares = new Map<string, Share>();
  private handlerKeys: readonly string[] = [];
  private registries: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    readonly podId: string,
    private readonly keys: Pick<KeySpace, 'podRegistry' | 'wakeChannel'>,
    private readonly scripts: HeartbeatPort,
    private readonly intervalMs: number,
  ) {}

  /** This pod's share of a handler's schedules; alone until the first heartbeat answers. */
  shareOf(handlerKey: string): Share {
    return this.shares.get(handlerKey) ?? ALONE;
  }

  /** Whether the schedule with this incarnation number is assigned to this pod. */
  owns(handlerKey: string, incarnation: number): boolean {
    const { pods, rank } = this.shareOf(handlerKey);
    return pods <= 1 || incarnation % pods === rank;
  }

  /** Joins the registries of the handlers this pod runs, and keeps beating. */
  start(handlerKeys: readonly string[]): Promise<void> {
    this.handlerKeys = handlerKeys;
    this.registries = handlerKeys.map((h) => this.keys.podRegistry(h));
    if (this.registries.length === 0) return Promise.resolve();
    this.timer = setInterval(() => void this.beat(), timerDelay(this.intervalMs));
    this.timer.unref();
    return this.beat();
  }

  /** Whether a wake message is a registry's (a pod joined or left): then look again at once. */
  changed(key: string): boolean {
    if (!this.registries.includes(key)) return false;
    // After stop() a beat would join again: the wake message of its own leaving comes back here.
    if (!this.stopped) void this.beat();
    return true;
  }

  /** Leaves every registry (bounded: Redis may be down), so the others take this pod's share. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.registries.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.scripts
        .heartbeat(this.registries, this.podId, 0, this.keys.wakeChannel)
        .catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timerDelay(1_000)))),
    ]);
    clearTimeout(timer);
  }

  private async beat(): Promise<void> {
    try {
      const lists = await this.scripts.heartbeat(
        this.registries,
        this.podId,
        this.intervalMs * MISSED_BEATS,
        this.keys.wakeChannel,
      );
      lists.forEach((pods, i) => {
        const rank = pods.indexOf(this.podId);
        this.shares.set(this.handlerKeys[i], rank < 0 ? ALONE : { pods: pods.length, rank });
      });
      this.failing = false;
    } catch (error) {
      // Redis is unreachable: the engine says so; keep the last known shares meanwhile.
      if (!this.failing) this.logger.debug(`Heartbeat failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
