import { lockLoss } from '../../../lib/lock/lock-keeper';

describe('lockLoss: was the lock held from acquisition until the function ended?', () => {
  const heldUntil = 1_000;

  it('held: ended before the deadline, and Redis still had the token (or could not answer)', () => {
    expect(lockLoss({ endedAt: 900, heldUntil, released: true, answeredAt: 905 })).toBeUndefined();
    // No answer (Redis unreachable): the local deadline alone proves it.
    expect(lockLoss({ endedAt: 900, heldUntil, released: undefined, answeredAt: 1_500 })).toBe(
      undefined,
    );
  });

  it('lost: ended past the deadline (a blocked event loop), whatever Redis says', () => {
    expect(lockLoss({ endedAt: 1_200, heldUntil, released: true, answeredAt: 1_201 })).toMatch(
      /200 ms after the lock's deadline without a renewal confirmed/,
    );
    expect(lockLoss({ endedAt: 1_200, heldUntil, released: false, answeredAt: 1_201 })).toMatch(
      /200 ms after the lock's deadline, and another owner took it/,
    );
  });

  it('lost: Redis no longer had the token, answering before the deadline (taken or deleted)', () => {
    expect(lockLoss({ endedAt: 900, heldUntil, released: false, answeredAt: 905 })).toMatch(
      /another owner took it or it was deleted/,
    );
  });

  it('lost (cannot be confirmed): Redis said so only after the deadline', () => {
    expect(lockLoss({ endedAt: 900, heldUntil, released: false, answeredAt: 1_100 })).toMatch(
      /cannot be confirmed/,
    );
  });
});
