import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A pod's id in what it writes to Redis: 'host:pid:random', unique per app even in one process. */
export function newPodId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}
