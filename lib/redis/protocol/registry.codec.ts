import type { ScriptArg } from './codec';

/* The pod registry's script: heartbeat-1.lua. */

/** `ttlMs` 0 leaves the registry. */
export function encodeHeartbeat(
  registry: string,
  podId: string,
  ttlMs: number,
  wakeChannel: string,
): ScriptArg[] {
  return [registry, podId, ttlMs, wakeChannel];
}

/** The live pod ids of the registry, sorted. */
export function decodeHeartbeat(reply: unknown): string[] {
  return reply as string[];
}
