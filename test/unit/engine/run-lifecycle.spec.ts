import {
  advance,
  RunEvent,
  RunPhase,
  slotEvent,
  SlotFacts,
  transition,
  TRANSITIONS,
} from '../../../lib/engine/run-lifecycle';

const PHASES: RunPhase[] = [
  'claimed',
  'reserved',
  'ready',
  'rechecking',
  'retargeting',
  'detaching',
  'running',
  'recording',
  'ended',
];
const EVENTS: RunEvent[] = [
  'reserve',
  'admit',
  'skip',
  'give-up',
  'retarget',
  'changed',
  'lost',
  'expired',
  'recheck',
  'detach',
  'launch',
  'moved',
  'too-early',
  'finished',
  'finished-given-back',
  'wrote-end',
  'wrote-retry',
  'wrote-skip',
  'wrote-park',
  'refused',
  'write-failed',
  'write-abandoned',
  'close',
  'unplannable',
  'chain',
];

/** phase, event → next phase, effect, end ('' for none). Every pair not listed is refused. */
const TABLE: [RunPhase, RunEvent, RunPhase, string, string][] = [
  // A claim: ahead of its due time it is held; due, admission decides.
  ['claimed', 'reserve', 'reserved', 'hold', ''],
  ['claimed', 'admit', 'ready', 'queue', ''],
  ['claimed', 'skip', 'recording', 'write', ''],
  ['claimed', 'give-up', 'recording', 'write', ''],
  ['claimed', 'retarget', 'retargeting', 'retarget', ''],
  ['claimed', 'unplannable', 'recording', 'park', ''],
  ['claimed', 'close', 'ended', 'hand-back', 'handed-back'],
  // A reservation, confirmed at its due time (admission), or refused by confirmRuns.
  ['reserved', 'admit', 'ready', 'queue', ''],
  ['reserved', 'skip', 'recording', 'write', ''],
  ['reserved', 'give-up', 'recording', 'write', ''],
  ['reserved', 'retarget', 'retargeting', 'retarget', ''],
  ['reserved', 'unplannable', 'recording', 'park', ''],
  ['reserved', 'changed', 'ended', 'rearm', 'handed-back'],
  ['reserved', 'lost', 'ended', 'report-lost', 'lost'],
  ['reserved', 'close', 'ended', 'hand-back', 'handed-back'],
  // Confirmed again after waiting past its pass: it goes first, into the slot it held.
  ['rechecking', 'admit', 'ready', 'queue-first', ''],
  ['rechecking', 'skip', 'recording', 'write', ''],
  ['rechecking', 'give-up', 'recording', 'write', ''],
  ['rechecking', 'retarget', 'retargeting', 'retarget', ''],
  ['rechecking', 'unplannable', 'recording', 'park', ''],
  ['rechecking', 'changed', 'ended', 'rearm', 'handed-back'],
  ['rechecking', 'lost', 'ended', 'report-lost', 'lost'],
  ['rechecking', 'close', 'ended', 'hand-back', 'handed-back'],
  // A free slot (see slotEvent for which event it gives).
  ['ready', 'recheck', 'rechecking', 'recheck', ''],
  ['ready', 'skip', 'recording', 'write', ''],
  ['ready', 'retarget', 'retargeting', 'retarget', ''],
  ['ready', 'detach', 'detaching', 'detach', ''],
  ['ready', 'launch', 'running', 'launch', ''],
  ['ready', 'expired', 'ended', 'report-lost', 'lost'],
  ['ready', 'close', 'ended', 'hand-back', 'handed-back'],
  ['ready', 'unplannable', 'recording', 'park', ''],
  // Moves in Redis before the start.
  ['retargeting', 'moved', 'ready', 'queue', ''],
  ['retargeting', 'too-early', 'retargeting', 'retarget-later', ''],
  ['retargeting', 'lost', 'ended', 'report-lost', 'lost'],
  ['detaching', 'moved', 'running', 'launch', ''],
  ['detaching', 'lost', 'ended', 'report-lost', 'lost'],
  // The handler is done: its end is written, unless shutdown gave the lease back.
  ['running', 'finished', 'recording', 'write', ''],
  ['running', 'finished-given-back', 'ended', 'none', 'given-back'],
  ['running', 'unplannable', 'recording', 'park', ''],
  // The write's answer.
  ['recording', 'wrote-end', 'ended', 'announce', 'recorded'],
  ['recording', 'wrote-retry', 'ended', 'announce', 'retry-pending'],
  ['recording', 'wrote-skip', 'ended', 'announce', 'skipped'],
  ['recording', 'wrote-park', 'ended', 'announce', 'parked'],
  ['recording', 'refused', 'ended', 'report-rejected', 'rejected'],
  ['recording', 'write-failed', 'recording', 'write-again', ''],
  ['recording', 'write-abandoned', 'ended', 'report-abandoned', 'abandoned'],
  // A chained next fire time reuses the run.
  ['ended', 'chain', 'claimed', 'none', ''],
];

describe('run lifecycle transitions', () => {
  it.each(TABLE)('%s + %s → %s (%s) %s', (phase, event, next, effect, end) => {
    const t = transition(phase, event);
    expect(t).toEqual(end === '' ? { phase: next, effect } : { phase: next, effect, end });
  });

  it('allows nothing else', () => {
    const listed = new Set(TABLE.map(([p, e]) => `${p}+${e}`));
    const extra: string[] = [];
    for (const phase of PHASES) {
      for (const event of EVENTS) {
        if (!listed.has(`${phase}+${event}`) && transition(phase, event)) {
          extra.push(`${phase}+${event}`);
        }
      }
    }
    expect(extra).toEqual([]);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...PHASES].sort());
  });

  it('ends a run only in the ended phase, and every end is reachable', () => {
    const ends = new Set<string>();
    for (const [, , next, , end] of TABLE) {
      expect(end === '').toBe(next !== 'ended');
      if (end) ends.add(end);
    }
    expect([...ends].sort()).toEqual(
      [
        'abandoned',
        'given-back',
        'handed-back',
        'lost',
        'parked',
        'recorded',
        'rejected',
        'retry-pending',
        'skipped',
      ].sort(),
    );
  });

  it('parks from every phase before the write, never after', () => {
    for (const phase of PHASES) {
      const parks = transition(phase, 'unplannable')?.effect === 'park';
      const before = !['retargeting', 'detaching', 'recording', 'ended'].includes(phase);
      expect({ phase, parks }).toEqual({ phase, parks: before });
    }
  });
});

describe('advance', () => {
  /** Walks `events` from 'claimed'; the effects in order, or the first refused event. */
  function walk(events: RunEvent[]): string[] {
    const run = { phase: 'claimed' as RunPhase };
    return events.map((event) => advance(run, event) ?? `refused ${event} in ${run.phase}`);
  }

  it('takes a reserved run through a chained next fire time', () => {
    expect(
      walk(['reserve', 'admit', 'launch', 'finished', 'wrote-end', 'chain', 'reserve']),
    ).toEqual(['hold', 'queue', 'launch', 'write', 'announce', 'none', 'hold']);
  });

  it('covers the failure paths the integration tests exercise', () => {
    // A run that waited past its pass is confirmed again, then starts first in line.
    expect(walk(['admit', 'recheck', 'admit', 'launch'])).toEqual([
      'queue',
      'recheck',
      'queue-first',
      'launch',
    ]);
    // Removed while it waited for a slot: confirmRuns refuses it.
    expect(walk(['admit', 'recheck', 'lost'])).toEqual(['queue', 'recheck', 'report-lost']);
    // Changed or paused meanwhile: handed back and re-armed.
    expect(walk(['reserve', 'changed'])).toEqual(['hold', 'rearm']);
    // Misfire: the latest missed fire time runs instead.
    expect(walk(['retarget', 'too-early', 'moved', 'launch'])).toEqual([
      'retarget',
      'retarget-later',
      'queue',
      'launch',
    ]);
    // overlap 'allow'.
    expect(walk(['admit', 'detach', 'moved', 'finished', 'wrote-end'])).toEqual([
      'queue',
      'detach',
      'launch',
      'write',
      'announce',
    ]);
    // Redis down while writing: written again, then given up when the lease ran out.
    expect(walk(['admit', 'launch', 'finished', 'write-failed', 'write-abandoned'])).toEqual([
      'queue',
      'launch',
      'write',
      'write-again',
      'report-abandoned',
    ]);
    // A late completion after a lost lease.
    expect(walk(['admit', 'launch', 'finished', 'refused'])).toEqual([
      'queue',
      'launch',
      'write',
      'report-rejected',
    ]);
    // A retry stored in Redis.
    expect(walk(['admit', 'launch', 'finished', 'wrote-retry'])).toEqual([
      'queue',
      'launch',
      'write',
      'announce',
    ]);
    // Shutdown gives a running run's lease back: nothing is written.
    expect(walk(['admit', 'launch', 'finished-given-back'])).toEqual(['queue', 'launch', 'none']);
    // A schedule whose next fire time cannot be computed after its run.
    expect(walk(['admit', 'launch', 'unplannable', 'wrote-park'])).toEqual([
      'queue',
      'launch',
      'park',
      'announce',
    ]);
  });

  it('refuses a transition the lifecycle lacks, and leaves the phase as it was', () => {
    const run = { phase: 'recording' as RunPhase };
    expect(advance(run, 'launch')).toBeUndefined();
    expect(run.phase).toBe('recording');
  });
});

describe('slotEvent', () => {
  const facts = (over: Partial<SlotFacts> = {}): SlotFacts => ({
    stale: false,
    admission: 'admit',
    closing: false,
    leaseLeft: true,
    detach: false,
    ...over,
  });

  it.each<[Partial<SlotFacts>, RunEvent]>([
    [{}, 'launch'],
    [{ detach: true }, 'detach'],
    [{ stale: true }, 'recheck'],
    // Checked in this order: confirmation first, then the misfire policy, shutdown, the lease.
    [{ stale: true, admission: 'skip', closing: false }, 'recheck'],
    [{ stale: true, closing: true }, 'close'],
    [{ admission: 'skip' }, 'skip'],
    [{ admission: 'retarget', closing: true }, 'retarget'],
    [{ closing: true, leaseLeft: false }, 'close'],
    [{ leaseLeft: false, detach: true }, 'expired'],
  ])('%j → %s', (over, event) => {
    expect(slotEvent(facts(over))).toBe(event);
  });
});
