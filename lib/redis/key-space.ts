import { fnv1a } from '../time/jitter';
import { KEY_SUFFIX, PREFIX_KEY, RUN_RECORD_INFIX, TRIGGER_ID_PREFIX } from './key-vocabulary';

/** The keys one script call touches; all share one hash tag (the partition's). */
export interface ScheduleKeys {
  /** Partition base: every per-schedule key of the partition starts with it. */
  base: string;
  /** Member of the due index and suffix of the schedule hash. */
  member: string;
  hash: string;
  due: string;
  tenantSet: string;
  handlerKey: string;
  partition: number;
}

/**
 * Every Redis key name the module uses is built here, from the suffixes of key-vocabulary.ts (the
 * Lua scripts derive the same keys through includes/keys.lua). Keys of one partition carry the hash tag
 * `{p<N>}` so a script touching them works on a Redis Cluster; identifiers reaching this module
 * have been validated (no braces, colons, whitespace or control characters).
 */
export class KeySpace {
  readonly partitionBases: readonly string[];

  constructor(
    readonly prefix: string,
    readonly partitions: number,
  ) {
    this.partitionBases = partitionTags(partitions).map((tag) => `${prefix}:{${tag}}:`);
  }

  /** Meta key holding facts every process must agree on (partition count). */
  get meta(): string {
    return `${this.prefix}:${PREFIX_KEY.meta}`;
  }

  /** Pub/sub channel on which writers announce a due time earlier than any before it. */
  get wakeChannel(): string {
    return `${this.prefix}:${PREFIX_KEY.wakeChannel}`;
  }

  /** Set by the store reconciler after a full pass: its absence means Redis lost its data. */
  get storeMark(): string {
    return `${this.prefix}:${PREFIX_KEY.storeMark}`;
  }

  partitionOf(routingKey: string): number {
    return this.partitions === 1 ? 0 : fnv1a(routingKey) % this.partitions;
  }

  dueIndex(partition: number, handlerKey: string): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.dueIndex}${handlerKey}`;
  }

  deadLetters(partition: number): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.deadLetters}`;
  }

  /** Run history of a schedule: its partition base + the history suffix + its member. */
  history(keys: ScheduleKeys): string {
    return `${keys.base}${KEY_SUFFIX.history}${keys.member}`;
  }

  /**
   * Detached runs of a schedule (overlap 'allow'): a SET of the fire times (ms) of its run records
   * '<member>:r:<fire ms>', so removeSchedule deletes them without scanning a due index. It exists
   * only while such a run does: detachRuns creates it, the last record's end deletes it.
   */
  detachedRuns(keys: ScheduleKeys): string {
    return `${keys.base}${KEY_SUFFIX.detachedRuns}${keys.member}`;
  }

  fenceCounter(partition: number): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.fenceCounter}`;
  }

  /**
   * Registry of the pods that run a handler (see PodRegistry). Every registry shares the hash tag
   * `{pods}`, so one pipeline keeps a pod in all of its registries, on a Cluster too.
   */
  podRegistry(handlerKey: string): string {
    return `${this.prefix}:${PREFIX_KEY.podRegistries}:${handlerKey}`;
  }

  /**
   * Which live pods declare a static schedule, from which 'Class.method' and with which timing
   * (see declareStatic-1.lua). Handler keys start with 'c:' or 'h:', so it never names a registry.
   */
  staticDeclarations(name: string): string {
    return `${this.prefix}:${PREFIX_KEY.podRegistries}:${PREFIX_KEY.staticDeclarations}:${name}`;
  }

  /** Change epoch of a partition: moved on by every change to a schedule holding a run state. */
  epochCounter(partition: number): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.epochCounter}`;
  }

  /** Schedule hash base of a partition: the hash of `member` is this + member. */
  hashBase(partition: number): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.scheduleHash}`;
  }

  staticSchedule(name: string): ScheduleKeys {
    return this.scheduleKeys(this.partitionOf(name), `c:${name}`, staticHandlerKey(name), '');
  }

  dynamicSchedule(tenantId: string, id: string, handler = ''): ScheduleKeys {
    return this.scheduleKeys(
      this.partitionOf(tenantId),
      `t:${tenantId}:${id}`,
      handler === '' ? '' : dynamicHandlerKey(handler),
      tenantId,
    );
  }

  /** The tenants of a partition that own schedules (or are paused): a ZSET read by lex. */
  tenantIndex(partition: number): string {
    return `${this.partitionBases[partition]}${KEY_SUFFIX.tenantIndex}`;
  }

  /** Exists while the tenant is paused (pauseTenant-1.lua). */
  tenantPause(tenantId: string): string {
    return `${this.partitionBases[this.partitionOf(tenantId)]}${KEY_SUFFIX.tenantPause}${tenantId}`;
  }

  tenantSet(tenantId: string): string {
    return `${this.partitionBases[this.partitionOf(tenantId)]}${KEY_SUFFIX.tenantSet}${tenantId}`;
  }

  lock(name: string): { lock: string; fence: string } {
    const lock = `${this.prefix}:${PREFIX_KEY.lock}:{${name}}`;
    return { lock, fence: `${lock}:${PREFIX_KEY.lockFence}` };
  }

  private scheduleKeys(
    partition: number,
    member: string,
    handlerKey: string,
    tenantId: string,
  ): ScheduleKeys {
    const base = this.partitionBases[partition];
    return {
      base,
      member,
      partition,
      handlerKey,
      hash: `${base}${KEY_SUFFIX.scheduleHash}${member}`,
      due: `${base}${KEY_SUFFIX.dueIndex}${handlerKey}`,
      tenantSet: `${base}${KEY_SUFFIX.tenantSet}${tenantId}`,
    };
  }
}

/** Hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;

/**
 * The hash tag of each partition: 'p0' alone, else 'p<n>' or 'p<n>.<k>' with the least k whose
 * slot lies in the n-th of `partitions` equal slot ranges. A cluster whose masters serve equal
 * slot ranges (as `redis-cli --cluster create` splits them) then holds as many partitions on each
 * master as it can: 12 partitions over 3 masters are 4 + 4 + 4, where 'p0'…'p11' would be 3 + 3 + 6.
 */
export function partitionTags(partitions: number): string[] {
  if (partitions === 1) return ['p0'];
  return Array.from({ length: partitions }, (_, n) => {
    const from = Math.floor((n * CLUSTER_SLOTS) / partitions);
    const to = Math.floor(((n + 1) * CLUSTER_SLOTS) / partitions);
    for (let k = 0; ; k++) {
      const tag = k === 0 ? `p${n}` : `p${n}.${k}`;
      const slot = crc16(tag) % CLUSTER_SLOTS;
      if (slot >= from && slot < to) return tag;
    }
  });
}

/** CRC-16/XMODEM, the checksum Redis Cluster hashes keys with (of ASCII text here). */
function crc16(text: string): number {
  let crc = 0;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** What a due-index member names: a static schedule, or a tenant's dynamic one. */
export interface MemberInfo {
  kind: 'c' | 't';
  /** The schedule's member, without a detached run record's ':r:<fire ms>' suffix. */
  schedule: string;
  tenantId: string | undefined;
  /** The static name, or the dynamic id. */
  id: string;
  /** The record id of a triggered run ('n<number>'), undefined for any other member. */
  trigger: string | undefined;
}

/**
 * Parses 'c:<name>', 't:<tenant>:<id>', or either followed by ':r:<fire ms>' (a detached run) or
 * ':r:n<number>' (a triggered run).
 */
export function parseMember(member: string): MemberInfo {
  const parts = member.split(':');
  const c = parts[0] === 'c';
  const record = parts[c ? 3 : 4];
  const trigger = record?.startsWith(TRIGGER_ID_PREFIX) ? record : undefined;
  if (c)
    return { kind: 'c', schedule: `c:${parts[1]}`, tenantId: undefined, id: parts[1], trigger };
  return {
    kind: 't',
    schedule: `t:${parts[1]}:${parts[2]}`,
    tenantId: parts[1],
    id: parts[2],
    trigger,
  };
}

/** The member of a detached run record (overlap 'allow'): parseMember reads its schedule back. */
export function runRecordMember(member: string, fireMs: number): string {
  return `${member}${RUN_RECORD_INFIX}${fireMs}`;
}

/** Due-index suffix of a static schedule: each @DistributedCron is its own handler. */
export function staticHandlerKey(name: string): string {
  return `c:${name}`;
}

/** Due-index suffix of a dynamic handler name. */
export function dynamicHandlerKey(handler: string): string {
  return `h:${handler}`;
}
