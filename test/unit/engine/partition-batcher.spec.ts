import { PartitionBatcher, PartitionQueue } from '../../../lib/engine/partition-batcher';

/** Resolves after the turn of the event loop in which the queues flush. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PartitionQueue', () => {
  it('sends what was added in one turn as one call per partition, split at maxBatch', async () => {
    const calls: [number, string[]][] = [];
    const results: [string, string][] = [];
    const queue = new PartitionQueue<string, string>(
      (partition, items) => {
        calls.push([partition, [...items]]);
        return Promise.resolve(items.map((item) => `${item}!`));
      },
      2,
      (item, result) => results.push([item, result]),
      () => {
        throw new Error('no call fails here');
      },
    );
    queue.add(0, 'a');
    queue.add(1, 'b');
    queue.add(0, 'c');
    queue.add(0, 'd');
    expect(calls).toEqual([]);
    await nextTurn();
    await nextTurn();
    expect(calls).toEqual([
      [0, ['a', 'c']],
      [0, ['d']],
      [1, ['b']],
    ]);
    expect(results).toEqual([
      ['a', 'a!'],
      ['c', 'c!'],
      ['d', 'd!'],
      ['b', 'b!'],
    ]);
  });

  it('hands every item of a failed call to onError, and none to onResult', async () => {
    const failed: string[][] = [];
    const onResult = jest.fn();
    const queue = new PartitionQueue<string, string>(
      () => Promise.reject(new Error('Connection is closed.')),
      10,
      onResult,
      (items, error) => {
        expect((error as Error).message).toBe('Connection is closed.');
        failed.push(items);
      },
    );
    queue.add(3, 'x');
    queue.add(3, 'y');
    await nextTurn();
    await nextTurn();
    expect(failed).toEqual([['x', 'y']]);
    expect(onResult).not.toHaveBeenCalled();
  });

  it('starts a new batch for what is added after a flush', async () => {
    const sizes: number[] = [];
    const queue = new PartitionQueue<number, number>(
      (_partition, items) => {
        sizes.push(items.length);
        return Promise.resolve(items);
      },
      100,
      () => undefined,
      () => undefined,
    );
    queue.add(0, 1);
    await nextTurn();
    queue.add(0, 2);
    queue.add(0, 3);
    await nextTurn();
    await nextTurn();
    expect(sizes).toEqual([1, 2]);
  });
});

describe('PartitionBatcher', () => {
  it('resolves each submit with its own result, and rejects all of a failed call', async () => {
    let fail = false;
    const batcher = new PartitionBatcher<string, number>(
      (_partition, items) =>
        fail ? Promise.reject(new Error('down')) : Promise.resolve(items.map((s) => s.length)),
      10,
    );
    await expect(Promise.all([batcher.submit(0, 'ab'), batcher.submit(0, 'abc')])).resolves.toEqual(
      [2, 3],
    );
    fail = true;
    const both = [batcher.submit(1, 'a'), batcher.submit(1, 'b')];
    await expect(both[0]).rejects.toThrow('down');
    await expect(both[1]).rejects.toThrow('down');
  });
});
