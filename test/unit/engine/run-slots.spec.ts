import { RunSlots, SlotTicket } from '../../../lib/engine/run-slots';

const ticket = (name: string): SlotTicket & { name: string } => ({
  name,
  pass: -1,
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

  it('a run is fresh only within the pass that queued it', () => {
    const slots = new RunSlots<ReturnType<typeof ticket>>(1);
    const inPass = ticket('in');
    const outside = ticket('out');
    slots.enqueue(outside, false);
    slots.confirmed(() => {
      slots.enqueue(inPass, false);
      expect(slots.stale(inPass)).toBe(false);
      expect(slots.stale(outside)).toBe(true);
    });
    // The pass is over: a run that waits past it must be confirmed again.
    expect(slots.stale(inPass)).toBe(true);
    slots.confirmed(() => expect(slots.stale(inPass)).toBe(true));
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
      slots.confirmed(() => {
        slots.enqueue(run, false);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(slots.stale(run)).toBe(true);
  });
});
