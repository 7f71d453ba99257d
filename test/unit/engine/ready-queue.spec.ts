import { ReadyQueue } from '../../../lib/engine/ready-queue';

describe('ReadyQueue', () => {
  it('is first in, first out, with pushFirst ahead of the rest', () => {
    const q = new ReadyQueue<string>();
    q.push('a');
    q.push('b');
    expect(q.shift()).toBe('a');
    q.pushFirst('first');
    q.push('c');
    expect(q.length).toBe(3);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(['first', 'b', 'c', undefined]);
    q.pushFirst('alone');
    expect(q.drain()).toEqual(['alone']);
    expect(q.length).toBe(0);
  });
});
