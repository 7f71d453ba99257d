import type { RedisConnection } from '../redis/redis-client.provider';
import type {
  Detachment,
  DetachVerdict,
  Retarget,
  RetargetVerdict,
} from '../redis/protocol/run.types';
import type { Claimed } from './claimed-run';
import type { Plan } from './fire-planner';
import { PartitionBatcher } from './partition-batcher';

/** What a move answered: done, not yet due by Redis TIME (retarget only), or the lease is gone. */
export type MoveResult = 'moved' | 'too-early' | 'lost';

/**
 * Moves claimed runs in Redis before they start, batched per partition and turn: to a later
 * fire time (misfire policy: retargetRuns), or under a run record of their own so the schedule
 * is re-armed at once (overlap 'allow': detachRuns). A call that fails (Redis unreachable) counts
 * as a lost lease: the run does not start here, and whoever re-claims the lease runs it.
 */
export class RunMover {
  private readonly detachments: PartitionBatcher<Detachment, DetachVerdict>;
  private readonly retargets: PartitionBatcher<Retarget, RetargetVerdict>;

  constructor(connection: RedisConnection, batchSize: number) {
    const { scripts, keys } = connection;
    const base = (p: number) => keys.partitionBases[p];
    this.retargets = new PartitionBatcher(
      (p, items) => scripts.retargetRuns(base(p), items),
      batchSize,
    );
    this.detachments = new PartitionBatcher(
      (p, items) => scripts.detachRuns(base(p), items),
      batchSize,
    );
  }

  async retarget(c: Claimed, plan: Plan): Promise<MoveResult> {
    const { run } = c;
    try {
      const verdict = await this.retargets.submit(c.source.partition, {
        member: run.member,
        fencingToken: run.fencingToken,
        fireMs: plan.fireMs,
        dueMs: plan.dueMs,
      });
      if (verdict === 'too-early') return 'too-early';
      return verdict === 'ok' ? 'moved' : 'lost';
    } catch {
      return 'lost';
    }
  }

  async detach(c: Claimed, next: Plan): Promise<MoveResult> {
    const { run } = c;
    try {
      const verdict = await this.detachments.submit(c.source.partition, {
        member: run.member,
        fencingToken: run.fencingToken,
        revision: run.revision,
        nextFireMs: next.fireMs,
        nextDueMs: next.dueMs,
      });
      return verdict === 'ok' ? 'moved' : 'lost';
    } catch {
      return 'lost';
    }
  }
}
