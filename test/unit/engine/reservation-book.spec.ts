import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import {
  type BookClock,
  type ConfirmPort,
  type Reservation,
  ReservationBook,
} from '../../../lib/engine/reservation-book';
import type { ConfirmRefusal } from '../../../lib/redis/protocol/run.types';

type ConfirmArgs = Parameters<ConfirmPort['confirmRuns']>;
type ConfirmReply = Awaited<ReturnType<ConfirmPort['confirmRuns']>>;

/** One confirmRuns call as the book made it, with the time (Redis estimate) it was made. */
interface Call {
  base: string;
  notBefore: number;
  epoch: number;
  leaseUntil: number;
  members: string[];
  at: number;
}

const BASES = ['p0:', 'p1:', 'p2:'];
/** Redis time minus this process's monotonic time: the book must plan with the former. */
let offset = 0;
const clock: BookClock & { observe: jest.Mock } = {
  now: () => performance.now() + offset,
  observe: jest.fn(),
};

let fencing = 0;
function res(
  item: string,
  dueMs: number,
  over: Partial<Pick<Reservation<string>, 'partition' | 'epoch' | 'leaseUntilMs'>> = {},
): Reservation<string> {
  return {
    partition: 0,
    epoch: 5,
    leaseUntilMs: dueMs + 30_000,
    ...over,
    dueMs,
    item,
    member: `m:${item}`,
    fencingToken: ++fencing,
    revision: `rev:${item}`,
  };
}

function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A book over a fake confirmRuns answering with `reply`, recording every call and callback. */
function harness(
  reply: (call: Call, runs: ConfirmArgs[4]) => ConfirmReply | Promise<ConfirmReply>,
) {
  const calls: Call[] = [];
  const confirmed: { items: string[]; nowMs: number; epoch: number }[] = [];
  const dropped: [string, ConfirmRefusal][] = [];
  const returned: string[][] = [];
  const confirmRuns = jest.fn(
    async (...[base, notBefore, epoch, leaseUntil, runs]: ConfirmArgs) => {
      const call = {
        base,
        notBefore,
        epoch,
        leaseUntil,
        members: runs.map((r) => r.member),
        at: clock.now(),
      };
      calls.push(call);
      return reply(call, runs);
    },
  );
  const book = new ReservationBook<string>(
    { confirmRuns },
    { partitionBases: BASES },
    clock,
    (items, nowMs, epoch) => confirmed.push({ items, nowMs, epoch }),
    (item, code) => dropped.push([item, code]),
    (items) => returned.push(items),
  );
  const confirmedItems = (): string[] => confirmed.flatMap((c) => c.items);
  return { book, calls, confirmed, dropped, returned, confirmedItems };
}

/** Redis answers "confirmed" (the epoch did not move) at its current time. */
const confirmAll = (): ConfirmReply => ({ status: 'confirmed', nowMs: clock.now(), epoch: 7 });

/** Advances fake time, running the timers due and the promises they start. */
const advance = (ms: number): Promise<void> => jest.advanceTimersByTimeAsync(ms);

let warn: jest.SpyInstance;

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
  // The book compares timers on performance.now(), which jest's fake timers do not replace.
  jest.spyOn(performance, 'now').mockImplementation(() => Date.now());
  warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  offset = 0;
  clock.observe.mockClear();
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('ReservationBook: one timer at the earliest due time', () => {
  it('arms a single timer at the earliest due time (Redis time) and confirms nothing before it', async () => {
    offset = 7_000_000; // Redis's clock far from this process's: due times are Redis times.
    const h = harness(confirmAll);
    const t0 = clock.now();
    h.book.add(res('c', t0 + 300));
    h.book.add(res('a', t0 + 100));
    h.book.add(res('b', t0 + 200));
    expect(jest.getTimerCount()).toBe(1);
    expect(h.book.size).toBe(3);

    await advance(99);
    expect(h.calls).toHaveLength(0);
    await advance(1);
    expect(h.confirmedItems()).toEqual(['a']);
    expect(jest.getTimerCount()).toBe(1); // re-armed for b

    await advance(99);
    expect(h.confirmedItems()).toEqual(['a']);
    await advance(1);
    expect(h.confirmedItems()).toEqual(['a', 'b']);
    await advance(100);
    expect(h.confirmedItems()).toEqual(['a', 'b', 'c']);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.book.size).toBe(0);
  });

  it('an earlier reservation re-arms the one timer earlier; a later one leaves it', async () => {
    const h = harness(confirmAll);
    const t0 = clock.now();
    h.book.add(res('late', t0 + 1_000));
    h.book.add(res('later', t0 + 2_000));
    expect(jest.getTimerCount()).toBe(1);
    h.book.add(res('early', t0 + 50));
    expect(jest.getTimerCount()).toBe(1);

    await advance(50);
    expect(h.confirmedItems()).toEqual(['early']);
    await advance(949);
    expect(h.confirmedItems()).toEqual(['early']);
    await advance(1);
    expect(h.confirmedItems()).toEqual(['early', 'late']);
  });

  it('a reservation already due is confirmed at once', async () => {
    const h = harness(confirmAll);
    h.book.add(res('overdue', clock.now() - 5_000));
    await advance(0);
    expect(h.confirmedItems()).toEqual(['overdue']);
  });

  it('releases exactly the reservations due, in due order (min-heap), however they were added', async () => {
    const h = harness(confirmAll);
    const t0 = clock.now();
    // 100 reservations, two per due time, added in a scrambled order.
    const all = Array.from({ length: 100 }, (_, i) => res(`r${i}`, t0 + 10 + ((i * 37) % 50) * 10));
    for (const r of all) h.book.add(r);
    const dueOf = new Map(all.map((r) => [r.item, r.dueMs]));

    for (let step = 0; step < 50; step++) {
      await advance(10);
      const now = clock.now();
      const released = h.confirmedItems();
      expect([...released].sort()).toEqual(
        all
          .filter((r) => r.dueMs <= now)
          .map((r) => r.item)
          .sort(),
      );
      const dues = released.map((item) => dueOf.get(item) ?? NaN);
      expect(dues).toEqual([...dues].sort((x, y) => x - y));
    }
    expect(h.book.size).toBe(0);
  });
});

describe('ReservationBook: confirmation per partition', () => {
  it('one call per partition: latest due time, least epoch, earliest lease end; the fast path sends no runs', async () => {
    const h = harness((call) => ({
      status: 'confirmed',
      nowMs: clock.now() + 3,
      epoch: call.base === 'p0:' ? 70 : 71,
    }));
    const t0 = clock.now();
    // Overdue at different times, so that one release takes them all.
    h.book.add(res('a', t0 - 10, { epoch: 5, leaseUntilMs: t0 + 30_000 }));
    h.book.add(res('b', t0 - 20, { epoch: 3, leaseUntilMs: t0 + 20_000 }));
    h.book.add(res('c', t0 - 15, { partition: 1, epoch: 9, leaseUntilMs: t0 + 25_000 }));
    await advance(0);

    expect(h.calls).toEqual([
      {
        base: 'p0:',
        notBefore: t0 - 10,
        epoch: 3,
        leaseUntil: t0 + 20_000,
        members: [],
        at: t0,
      },
      {
        base: 'p1:',
        notBefore: t0 - 15,
        epoch: 9,
        leaseUntil: t0 + 25_000,
        members: [],
        at: t0,
      },
    ]);
    expect(h.confirmed).toEqual([
      { items: ['b', 'a'], nowMs: t0 + 3, epoch: 70 },
      { items: ['c'], nowMs: t0 + 3, epoch: 71 },
    ]);
    expect(h.dropped).toEqual([]);
    // Each reply's Redis time corrects the clock, with the local time the call was sent.
    expect(clock.observe.mock.calls).toEqual([
      [t0 + 3, t0],
      [t0 + 3, t0],
    ]);
  });

  it('splits a partition’s due reservations into batches of 2000', async () => {
    const h = harness((call, runs) =>
      call.members.length === 0
        ? { status: 'check', nowMs: clock.now(), epoch: 8 }
        : {
            status: 'checked',
            nowMs: clock.now(),
            epoch: 8,
            verdicts: runs.map(() => 'ok' as const),
          },
    );
    const t0 = clock.now();
    for (let i = 0; i < 4_500; i++) h.book.add(res(`a${i}`, t0 + 100));
    for (let i = 0; i < 10; i++) h.book.add(res(`b${i}`, t0 + 100, { partition: 2 }));
    await advance(100);

    const withRuns = h.calls.filter((c) => c.members.length > 0);
    expect(withRuns.map((c) => `${c.base}${c.members.length}`).sort()).toEqual([
      'p0:2000',
      'p0:2000',
      'p0:500',
      'p2:10',
    ]);
    // Each batch asks the fast path first, on its own.
    expect(h.calls.filter((c) => c.members.length === 0)).toHaveLength(4);
    const items = h.confirmedItems();
    expect(items).toHaveLength(4_510);
    expect(new Set(items).size).toBe(4_510);
  });

  it('epoch moved on ("check"): sends the runs, confirms the ones \'ok\', drops the others with their verdict', async () => {
    const refusalOf: Record<string, ConfirmRefusal> = {
      'm:b': 'changed',
      'm:d': 'lease-lost',
      'm:e': 'lease-expired',
    };
    const h = harness((call) =>
      call.members.length === 0
        ? { status: 'check', nowMs: clock.now() + 1, epoch: 12 }
        : {
            status: 'checked',
            nowMs: clock.now() + 2,
            epoch: 13,
            verdicts: call.members.map((m) => refusalOf[m] ?? 'ok'),
          },
    );
    const t0 = clock.now();
    const batch = ['a', 'b', 'c', 'd', 'e'].map((item) => res(item, t0 + 10));
    for (const r of batch) h.book.add(r);
    await advance(10);

    expect(h.calls.map((c) => [...c.members].sort())).toEqual([
      [],
      ['m:a', 'm:b', 'm:c', 'm:d', 'm:e'],
    ]);
    expect(h.confirmed).toHaveLength(1);
    expect(h.confirmed[0]).toMatchObject({ nowMs: t0 + 12, epoch: 13 });
    expect([...h.confirmed[0].items].sort()).toEqual(['a', 'c']);
    expect([...h.dropped].sort()).toEqual([
      ['b', 'changed'],
      ['d', 'lease-lost'],
      ['e', 'lease-expired'],
    ]);
    expect(h.book.size).toBe(0);
  });

  it('passes each run’s member, fencing token and revision when checking', async () => {
    const seen: ConfirmArgs[4][] = [];
    const h = harness((call, runs) => {
      seen.push(runs);
      return call.members.length === 0
        ? { status: 'check', nowMs: clock.now(), epoch: 1 }
        : { status: 'checked', nowMs: clock.now(), epoch: 1, verdicts: ['ok'] };
    });
    const r = res('x', clock.now() + 5);
    h.book.add(r);
    await advance(5);
    expect(seen[1]).toEqual([
      expect.objectContaining({ member: 'm:x', fencingToken: r.fencingToken, revision: 'rev:x' }),
    ]);
    expect(h.confirmedItems()).toEqual(['x']);
  });

  it('"early" (Redis’s clock behind the estimate): keeps the batch and re-arms at notBefore − Redis now', async () => {
    let replies = 0;
    const h = harness((call) =>
      ++replies === 1
        ? { status: 'early', nowMs: call.notBefore - 40, epoch: -1 }
        : { status: 'confirmed', nowMs: clock.now(), epoch: 4 },
    );
    const t0 = clock.now();
    h.book.add(res('a', t0 + 100));
    h.book.add(res('b', t0 + 100));
    await advance(100);
    expect(h.calls).toHaveLength(1);
    expect(h.confirmed).toEqual([]);
    expect(h.dropped).toEqual([]);
    expect(h.book.size).toBe(2);
    expect(jest.getTimerCount()).toBe(1);

    await advance(39);
    expect(h.calls).toHaveLength(1);
    await advance(1);
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1]).toMatchObject({ notBefore: t0 + 100, at: t0 + 140 });
    expect(h.confirmedItems().sort()).toEqual(['a', 'b']);
  });
});

describe('ReservationBook: Redis unreachable', () => {
  it('retries with backoff (100, 200, 400, 800, 1600, then 2000 ms), warns once, and a success resets the backoff', async () => {
    let failing = 7;
    const h = harness(() => {
      if (failing-- > 0) throw new Error('ECONNREFUSED');
      return confirmAll();
    });
    const t0 = clock.now();
    h.book.add(res('a', t0 + 100, { leaseUntilMs: t0 + 1_000_000 }));
    await advance(100 + 100 + 200 + 400 + 800 + 1_600 + 2_000 + 2_000);

    const gaps = h.calls.slice(1).map((c, i) => c.at - h.calls[i].at);
    expect(gaps).toEqual([100, 200, 400, 800, 1_600, 2_000, 2_000]);
    expect(h.confirmedItems()).toEqual(['a']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/Cannot confirm reserved runs: ECONNREFUSED/);

    // The success reset the count: the next failure waits 100 ms again, and warns again.
    failing = 1;
    h.book.add(res('b', clock.now() + 10, { leaseUntilMs: clock.now() + 1_000_000 }));
    await advance(10 + 100);
    expect(h.calls.slice(-2).map((c) => c.at - t0)).toEqual([7_210, 7_310]);
    expect(h.confirmedItems()).toEqual(['a', 'b']);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('keeps the reservations while it retries, and counts them in size', async () => {
    const h = harness(() => {
      throw new Error('down');
    });
    h.book.add(res('a', clock.now() + 10));
    await advance(10);
    expect(h.book.size).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    expect(h.dropped).toEqual([]);
  });

  it('drops (LEASE_EXPIRED) a reservation whose lease ran out meanwhile and retries the rest', async () => {
    let failing = 3;
    const h = harness(() => {
      if (failing-- > 0) throw new Error('down');
      return confirmAll();
    });
    const t0 = clock.now();
    // Failures at +100, +200 and +400: a's lease ends exactly at the third.
    h.book.add(res('a', t0 + 100, { leaseUntilMs: t0 + 400 }));
    h.book.add(res('b', t0 + 100, { leaseUntilMs: t0 + 50_000 }));
    await advance(399);
    expect(h.dropped).toEqual([]);
    await advance(1);
    expect(h.dropped).toEqual([['a', 'lease-expired']]);
    expect(h.book.size).toBe(1);

    await advance(800);
    expect(h.calls.at(-1)).toMatchObject({ at: t0 + 800, leaseUntil: t0 + 50_000 });
    expect(h.confirmedItems()).toEqual(['b']);
    expect(h.returned).toEqual([]);
  });
});

describe('ReservationBook: drain', () => {
  it('hands back every reservation not yet confirmed and stops the timer', async () => {
    const h = harness(confirmAll);
    const t0 = clock.now();
    const [a, b, c] = [res('a', t0 + 10), res('b', t0 + 20), res('c', t0 + 30)];
    h.book.add(a);
    h.book.add(c);
    h.book.add(b);
    await advance(10);
    expect(h.confirmedItems()).toEqual(['a']);

    const drained = h.book.drain();
    expect(drained.map((r) => r.item).sort()).toEqual(['b', 'c']);
    expect(drained).toContain(b);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.book.size).toBe(0);

    h.book.add(res('d', clock.now() + 5));
    await advance(10_000);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.calls).toHaveLength(1);
  });

  it('an "early" reply to a confirmation under way at the drain hands its runs back', async () => {
    const pending = deferred<ConfirmReply>();
    const h = harness(() => pending.promise);
    const t0 = clock.now();
    h.book.add(res('a', t0 + 10));
    h.book.add(res('b', t0 + 10));
    await advance(10);
    expect(h.book.size).toBe(2); // in confirmation

    expect(h.book.drain()).toEqual([]);
    pending.resolve({ status: 'early', nowMs: t0, epoch: -1 });
    await advance(0);
    expect(h.returned.map((items) => [...items].sort())).toEqual([['a', 'b']]);
    expect(h.confirmed).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    expect(h.book.size).toBe(0);
  });

  it('a confirmed reply to a confirmation under way at the drain still confirms (the runs hold their leases)', async () => {
    const pending = deferred<ConfirmReply>();
    const h = harness(() => pending.promise);
    h.book.add(res('a', clock.now() + 10));
    await advance(10);
    h.book.drain();
    pending.resolve({ status: 'confirmed', nowMs: clock.now(), epoch: 2 });
    await advance(0);
    expect(h.confirmedItems()).toEqual(['a']);
    expect(h.returned).toEqual([]);
  });

  it('a failure after the drain hands back the runs whose lease holds and drops the others, without retrying', async () => {
    const pending = deferred<ConfirmReply>();
    const h = harness(() => pending.promise);
    const t0 = clock.now();
    h.book.add(res('a', t0 + 10, { leaseUntilMs: t0 + 10 }));
    h.book.add(res('b', t0 + 10, { leaseUntilMs: t0 + 60_000 }));
    await advance(10);
    h.book.drain();
    pending.reject(new Error('down'));
    await advance(0);
    expect(h.dropped).toEqual([['a', 'lease-expired']]);
    expect(h.returned).toEqual([['b']]);
    expect(jest.getTimerCount()).toBe(0);
    await advance(10_000);
    expect(h.calls).toHaveLength(1);
  });
});
