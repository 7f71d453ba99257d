import {
  describeTiming,
  encodeTiming,
  judgeDeclaration,
} from '../../../lib/engine/static-declaration';

/* How a pod's declaration of a static compares with the other live pods' (issue 10, A3). */

const timing = encodeTiming({ cron: '0 * * * *', timeZone: 'UTC', jitterMs: 0 });
const other = encodeTiming({ cron: '*/5 * * * *', timeZone: 'Europe/Paris', jitterMs: 500 });
const mine = { name: 'cleanup', source: 'Jobs.cleanup', timing };

describe('judgeDeclaration', () => {
  it('agrees when every other live pod declares the same source and timing, or none does', () => {
    expect(judgeDeclaration(mine, { written: true, others: [] })).toEqual({ kind: 'agreed' });
    const same = { podId: 'b', source: 'Jobs.cleanup', timing };
    expect(judgeDeclaration(mine, { written: true, others: [same] })).toEqual({ kind: 'agreed' });
  });

  it('groups other sources (two services) by source, and they win over other timings', () => {
    const verdict = judgeDeclaration(mine, {
      written: false,
      others: [
        { podId: 'c', source: 'MailJobs.cleanup', timing },
        { podId: 'a', source: 'MailJobs.cleanup', timing: other },
        { podId: 'd', source: 'Jobs.cleanup', timing: other },
      ],
    });
    expect(verdict).toEqual({
      kind: 'other-source',
      sources: [{ value: 'MailJobs.cleanup', pods: ['a', 'c'] }],
    });
  });

  it('reports the same source with another timing (a rolling deploy)', () => {
    const verdict = judgeDeclaration(mine, {
      written: true,
      others: [{ podId: 'old', source: 'Jobs.cleanup', timing: other }],
    });
    expect(verdict).toEqual({ kind: 'other-timing', timings: [{ value: other, pods: ['old'] }] });
  });
});

describe('describeTiming', () => {
  it('reads a timing back, and shows one it cannot read as it is', () => {
    expect(describeTiming(other)).toBe('"*/5 * * * *" (Europe/Paris, jitter 500 ms)');
    expect(describeTiming('v9:something')).toBe('v9:something');
  });
});
