import { unexpectedReply } from '../../errors/script-codes';
import { reason, type ScriptArg } from './codec';

/* The lock scripts: acquireLock-2.lua, extendLock-1.lua and releaseLock-1.lua. */

export function encodeAcquire(
  lock: string,
  fence: string,
  token: string,
  ttlMs: number,
): ScriptArg[] {
  return [lock, fence, token, ttlMs];
}

/** The fencing token, or null while another owner holds the lock. */
export function decodeAcquire(reply: number): number | null {
  if (reply > 0) return reply;
  if (reply === 0) return null;
  throw unexpectedReply('acquireLock', reply);
}

export function encodeExtend(lock: string, token: string, ttlMs: number): ScriptArg[] {
  return [lock, token, ttlMs];
}

/** True when extended; false when the lock is not the owner's (any more). */
export function decodeExtend(reply: number): boolean {
  return owned('extendLock', reply);
}

export function encodeRelease(lock: string, token: string): ScriptArg[] {
  return [lock, token];
}

/** True when released; false when the lock was not the owner's (any more). */
export function decodeRelease(reply: number): boolean {
  return owned('releaseLock', reply);
}

function owned(script: string, reply: number): boolean {
  return reply === 1 || reason(script, reply, ['lease-lost']) !== 'lease-lost';
}
