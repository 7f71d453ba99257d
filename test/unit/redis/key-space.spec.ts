import calculateSlot from 'cluster-key-slot';
import { KeySpace } from '../../../lib/redis/key-space';

describe('KeySpace', () => {
  const keys = new KeySpace('rsched', 8);

  it('puts every key of one schedule call in one hash slot', () => {
    for (let i = 0; i < 200; i++) {
      const s = keys.dynamicSchedule(`tenant${i}`, `id${i}`, 'report.generate');
      const slots = new Set(
        [
          s.hash,
          s.due,
          s.tenantSet,
          s.base,
          keys.history(s),
          keys.detachedRuns(s),
          keys.fenceCounter(s.partition),
          keys.dueIndex(s.partition, 'h:x'),
        ].map((k) => calculateSlot(k)),
      );
      expect(slots.size).toBe(1);
    }
  });

  it('keeps all schedules of a tenant in the partition of its quota set', () => {
    const a = keys.dynamicSchedule('acme', 'a', 'h');
    const b = keys.dynamicSchedule('acme', 'b', 'h');
    expect(a.partition).toBe(b.partition);
    expect(calculateSlot(keys.tenantSet('acme'))).toBe(calculateSlot(a.hash));
  });

  it('spreads tenants over the partitions and the partitions over distinct slots', () => {
    const used = new Set<number>();
    for (let i = 0; i < 1_000; i++) used.add(keys.dynamicSchedule(`t${i}`, 'x').partition);
    expect(used.size).toBe(8);
    expect(new Set(keys.partitionBases.map((b) => calculateSlot(b))).size).toBe(8);
  });

  it('spreads partitions evenly over masters that serve equal slot ranges', () => {
    for (const [partitions, masters] of [
      [12, 3],
      [8, 4],
      [6, 3],
      [16, 2],
      [1024, 3],
    ]) {
      const bases = new KeySpace('rsched', partitions).partitionBases;
      const perMaster = new Array<number>(masters).fill(0);
      for (const base of bases) perMaster[Math.floor((calculateSlot(base) * masters) / 16_384)]++;
      expect(Math.max(...perMaster) - Math.min(...perMaster)).toBeLessThanOrEqual(1);
    }
    expect(new KeySpace('rsched', 1).partitionBases).toEqual(['rsched:{p0}:']);
  });

  it('starts every key with the prefix', () => {
    const s = keys.staticSchedule('Jobs.cleanup');
    for (const k of [s.hash, s.due, keys.meta, keys.lock('x').lock, keys.lock('x').fence]) {
      expect(k.startsWith('rsched:')).toBe(true);
    }
  });

  it('gives a lock and its fencing counter one slot', () => {
    const lock = keys.lock('orders:42');
    expect(calculateSlot(lock.lock)).toBe(calculateSlot(lock.fence));
  });

  it('separates static and dynamic handlers that share a name', () => {
    expect(keys.staticSchedule('x').due).not.toBe(keys.dynamicSchedule('t', 'x', 'x').due);
  });
});
