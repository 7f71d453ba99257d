import { Capacity, claimBudget, lookAheadRoom } from '../../../lib/engine/run-capacity';

const pod = (over: Partial<Capacity> = {}): Capacity => ({
  concurrency: 100,
  lookAheadMs: 1_000,
  maxPendingRuns: 20_000,
  averageRunMs: 1_000,
  running: 0,
  holding: 0,
  reserved: 0,
  waiting: 0,
  ...over,
});

describe('run capacity', () => {
  it('caps runs claimed ahead by what the slots start within the look-ahead', () => {
    // 1 s handlers, 1 s look-ahead: 100 slots start 200 runs in that time.
    expect(lookAheadRoom(pod())).toBe(200);
    // 10 ms handlers: 100 × 101, under maxPendingRuns.
    expect(lookAheadRoom(pod({ averageRunMs: 10 }))).toBe(10_100);
    // 0.1 ms handlers: maxPendingRuns caps it.
    expect(lookAheadRoom(pod({ averageRunMs: 0.1 }))).toBe(20_000);
    // What is held already counts against it.
    expect(lookAheadRoom(pod({ running: 50, reserved: 100, waiting: 20 }))).toBe(30);
  });

  it('claims what the free slots can start now, or the look-ahead room if larger', () => {
    expect(claimBudget(pod({ averageRunMs: 1e9 }))).toBe(100);
    // Reservations held fill the look-ahead room; free slots still claim what is due.
    expect(
      claimBudget(pod({ averageRunMs: 1e9, running: 60, holding: 10, waiting: 5, reserved: 50 })),
    ).toBe(25);
    expect(claimBudget(pod({ averageRunMs: 10 }))).toBe(10_100);
  });
});
