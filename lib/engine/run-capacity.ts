/** What a pod holds and can do, for the capacity rules below. */
export interface Capacity {
  concurrency: number;
  lookAheadMs: number;
  maxPendingRuns: number;
  /** The handlers' average duration (ms). */
  averageRunMs: number;
  /** Handlers running (and runs being detached before they start). */
  running: number;
  /** Slots held by runs being confirmed again. */
  holding: number;
  /** Reservations in the ReservationBook, confirmations under way included. */
  reserved: number;
  /** Runs waiting for a slot. */
  waiting: number;
}

/**
 * Room for runs claimed ahead: claimed runs not yet started are capped by what `concurrency`
 * slots can start within the look-ahead at the handlers' average duration (so slow handlers never
 * hoard runs another pod could start on time), and by `maxPendingRuns`.
 */
export function lookAheadRoom(c: Capacity): number {
  const cap = Math.min(
    Math.max(c.maxPendingRuns, c.concurrency),
    Math.floor(c.concurrency * (1 + c.lookAheadMs / c.averageRunMs)),
  );
  return cap - c.running - c.reserved - c.waiting;
}

/**
 * How many more runs to claim: enough for the free slots (what is due now comes first in a
 * claim), or more while the look-ahead has room.
 */
export function claimBudget(c: Capacity): number {
  return Math.max(c.concurrency - c.running - c.holding - c.waiting, lookAheadRoom(c));
}
