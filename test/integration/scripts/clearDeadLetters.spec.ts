import { useScriptHarness } from './script-harness';

/*
 * clearDeadLetters-1.lua called directly: a partition's dead letters cleared for one tenant or all.
 */

const h = useScriptHarness();

describe('clearDeadLetters', () => {
  const entries = [
    JSON.stringify({ tenantId: 'a', n: 1 }),
    JSON.stringify({ tenantId: 'b', n: 2 }),
    'not json',
    JSON.stringify({ schedule: 'static-one', n: 3 }),
    JSON.stringify({ tenantId: 'a', n: 4 }),
  ];

  it("clears one tenant's entries, keeping the others in order", async () => {
    const list = h.ks.deadLetters(0);
    await h.client.rpush(list, ...entries);

    expect(await h.scripts.clearDeadLetters(list, 'a')).toBe(2);
    expect(await h.client.lrange(list, 0, -1)).toEqual([entries[1], entries[2], entries[3]]);
    expect(await h.scripts.clearDeadLetters(list, 'zzz')).toBe(0);
    expect(await h.client.lrange(list, 0, -1)).toEqual([entries[1], entries[2], entries[3]]);
    expect(await h.scripts.clearDeadLetters(list, 'b')).toBe(1);
    expect(await h.client.lrange(list, 0, -1)).toEqual([entries[2], entries[3]]);
  });

  it("clears everything with '' and deletes the list", async () => {
    const list = h.ks.deadLetters(0);
    expect(await h.scripts.clearDeadLetters(list, '')).toBe(0);
    await h.client.rpush(list, ...entries);
    expect(await h.scripts.clearDeadLetters(list, '')).toBe(5);
    expect(await h.client.exists(list)).toBe(0);
    expect(await h.prefixKeys()).toEqual([]);
  });

  it('handles lists longer than one RPUSH chunk (500)', async () => {
    const list = h.ks.deadLetters(0);
    const many = Array.from({ length: 1_203 }, (_, i) =>
      JSON.stringify({ tenantId: i % 3 === 0 ? 'a' : 'b', i }),
    );
    await h.client.rpush(list, ...many);
    expect(await h.scripts.clearDeadLetters(list, 'a')).toBe(401);
    expect(await h.client.lrange(list, 0, -1)).toEqual(many.filter((_, i) => i % 3 !== 0));
  });
});
