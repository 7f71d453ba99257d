import { CONFIRMATION_FRESH_MS, RunSlots, SlotTicket } from '../../../lib/engine/run-slots';

const ticket = (name: string): SlotTicket & { name: string } => ({
  name,
  pass: -1,
  confirmedAt: -Infinity,
  writeMark: 0,
  holdsSlot: false,
});

describe('RunSlots', () => {
  it('gives slots in order while fewer than `concurrency` run', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(2);
    for (const name of ['a', 'b', 'c']) slots.enqueue(ticket(name), false);
    expect(slots.waiting).toBe(3);
    expect(slots.next(0)?.name).toBe('a');
    expect(slots.next(1)?.name).toBe('b');
    expect(slots.next(2)).toBeUndefined();
    expect(slots.next(1)?.name).toBe('c');
    expect(slots.next(0)).toBeUndefined();
  });

  it('without pushed changes, a run is fresh only within the pass that queued it', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    const inPass = ticket('in');
    const outside = ticket('out');
    slots.enqueue(outside, false);
    slots.confirmed(100, () => {
      slots.enqueue(inPass, false);
      expect(slots.stale(inPass, 100)).toBe(false);
      expect(slots.stale(outside, 100)).toBe(true);
    });
    // The pass is over: a run that waits past it must be confirmed again.
    expect(slots.stale(inPass, 100)).toBe(true);
    slots.confirmed(100, () => expect(slots.stale(inPass, 100)).toBe(true));
  });

  it('with pushed changes, a confirmation holds until a change, or CONFIRMATION_FRESH_MS', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    slots.pushed(true);
    const run = ticket('a');
    slots.confirmed(100, () => slots.enqueue(run, false));
    expect(slots.stale(run, 100 + CONFIRMATION_FRESH_MS)).toBe(false);
    expect(slots.stale(run, 101 + CONFIRMATION_FRESH_MS)).toBe(true);
    // A change made or pushed since the confirmation.
    slots.noteWrite();
    expect(slots.stale(run, 101)).toBe(true);
    const again = ticket('b');
    slots.confirmed(200, () => slots.enqueue(again, false));
    expect(slots.stale(again, 201)).toBe(false);
    // The subscription dropped (messages may be lost), and even once it is back.
    slots.pushed(false);
    expect(slots.stale(again, 201)).toBe(true);
    slots.pushed(true);
    expect(slots.stale(again, 201)).toBe(true);
    // Queued outside any pass (a retargeted or chained run): never fresh.
    const outside = ticket('c');
    slots.enqueue(outside, false);
    expect(slots.stale(outside, 201)).toBe(true);
  });

  it('a held slot counts against concurrency until released, then its run goes first', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    const rechecked = ticket('rechecked');
    const other = ticket('other');
    slots.hold(rechecked);
    slots.hold(rechecked); // idempotent
    expect(slots.holding).toBe(1);
    slots.enqueue(other, false);
    expect(slots.next(0)).toBeUndefined();
    slots.release(rechecked);
    slots.release(rechecked); // idempotent
    expect(slots.holding).toBe(0);
    slots.enqueue(rechecked, true);
    expect(slots.next(0)?.name).toBe('rechecked');
    expect(slots.next(0)?.name).toBe('other');
  });

  it('drain hands back every waiting run and forgets held slots', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    slots.enqueue(ticket('a'), false);
    slots.enqueue(ticket('b'), false);
    slots.hold(ticket('c'));
    expect(slots.drain().map((t) => t.name)).toEqual(['a', 'b']);
    expect(slots.waiting).toBe(0);
    expect(slots.holding).toBe(0);
  });

  it('ends a pass even when its work throws', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    const run = ticket('a');
    expect(() =>
      slots.confirmed(0, () => {
        slots.enqueue(run, false);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(slots.stale(run, 0)).toBe(true);
  });
});
