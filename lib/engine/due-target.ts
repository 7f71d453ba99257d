import type { RegisteredHandler } from '../discovery/handler.registry';
import type { KeySpace } from '../redis/key-space';
import type { ClaimTarget } from '../redis/protocol/run.types';
import type { RunSource } from './claimed-run';

/** One (partition, handler) due index this pod claims from, with the engine's state of it. */
export interface DueTarget extends ClaimTarget, RunSource {
  /** When to claim from it next (Redis ms); Infinity: not before a full poll. */
  wakeAtMs: number;
  /** The earliest wake-up hint (a re-arm, a wake message) since the last claim was sent. */
  hintMs: number;
  /** Entries the claims of this round left alone at the front of the window: the next passes them. */
  offset: number;
  /** Least score left alone by the claims of this round (they may go on over several calls). */
  heldMs: number;
}

/**
 * The due indexes of these handlers, each due at once: a static schedule's in its name's
 * partition, a dynamic handler's in every partition.
 */
export function dueTargets(keys: KeySpace, handlers: readonly RegisteredHandler[]): DueTarget[] {
  const targets: DueTarget[] = [];
  for (const handler of handlers) {
    const partitions =
      handler.kind === 'static'
        ? [keys.partitionOf(handler.name)]
        : keys.partitionBases.map((_, p) => p);
    for (const partition of partitions) {
      targets.push({
        partition,
        handler,
        due: keys.dueIndex(partition, handler.key),
        fence: keys.fenceCounter(partition),
        hashBase: keys.hashBase(partition),
        epoch: keys.epochCounter(partition),
        wakeAtMs: 0,
        hintMs: Infinity,
        offset: 0,
        heldMs: Infinity,
      });
    }
  }
  return targets;
}
