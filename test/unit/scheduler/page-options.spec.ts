import { InvalidOptionsError } from '../../../lib';
import {
  encodeCursor,
  MAX_PAGE_LIMIT,
  pageOf,
  toPageRequest,
} from '../../../lib/scheduler/page-options';

describe('page options', () => {
  it('defaults to the first page of 100 and decodes a cursor to the id it was made of', () => {
    expect(toPageRequest({})).toEqual({ after: '', limit: 100 });
    expect(toPageRequest({ cursor: encodeCursor('tenant-ü'), limit: 7 })).toEqual({
      after: 'tenant-ü',
      limit: 7,
    });
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: MAX_PAGE_LIMIT + 1 }, 'limit'],
    [{ limit: 1.5 }, 'limit'],
    [{ limit: Number.NaN }, 'limit'],
    [{ cursor: '' }, 'cursor'],
    [{ cursor: 'a+b/c=' }, 'cursor'],
    [{ cursor: encodeCursor('a:b') }, 'cursor'],
    [{ cursor: 42 as unknown as string }, 'cursor'],
  ])('refuses %j with an InvalidOptionsError naming %s', (options, option) => {
    expect(() => toPageRequest(options)).toThrow(InvalidOptionsError);
    expect(() => toPageRequest(options)).toThrow(`Invalid ${option}:`);
  });

  it('refuses options that are not an object', () => {
    expect(() => toPageRequest(null as unknown as object)).toThrow(InvalidOptionsError);
  });

  it('pages ids in byte order after the cursor, with a cursor only when more follow', () => {
    const ids = ['b', 'a', 'é', 'c', 'Z'];
    const first = pageOf(ids, { after: '', limit: 2 });
    expect(first).toEqual({ items: ['Z', 'a'], cursor: encodeCursor('a') });
    const second = pageOf(ids, toPageRequest({ cursor: first.cursor!, limit: 2 }));
    expect(second).toEqual({ items: ['b', 'c'], cursor: encodeCursor('c') });
    expect(pageOf(ids, toPageRequest({ cursor: second.cursor!, limit: 2 }))).toEqual({
      items: ['é'],
      cursor: null,
    });
    // A cursor whose id was removed since still pages on from where it was.
    expect(pageOf(['a', 'c'], { after: 'b', limit: 5 }).items).toEqual(['c']);
  });
});
