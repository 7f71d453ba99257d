import type { ScriptArg } from './codec';

/* The pod registry's scripts: heartbeat-1.lua, and declareStatic-1.lua for static schedules. */

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

/** Another live pod's declaration of a static schedule. */
export interface PeerDeclaration {
  podId: string;
  /** 'Class.method' */
  source: string;
  /** As that pod wrote it (opaque to the script). */
  timing: string;
}

export interface DeclareReply {
  /** False when another live pod declares the schedule from another source: nothing written. */
  written: boolean;
  others: PeerDeclaration[];
}

/** `ttlMs` 0 removes the pod's declaration. */
export function encodeDeclaration(
  key: string,
  podId: string,
  source: string,
  timing: string,
  ttlMs: number,
): ScriptArg[] {
  return [key, podId, source, timing, ttlMs];
}

export function decodeDeclaration(reply: unknown): DeclareReply {
  const [written, ...rest] = reply as [number, ...string[]];
  const others: PeerDeclaration[] = [];
  for (let i = 0; i + 2 < rest.length; i += 3) {
    others.push({ podId: rest[i], source: rest[i + 1], timing: rest[i + 2] });
  }
  return { written: Number(written) === 1, others };
}
