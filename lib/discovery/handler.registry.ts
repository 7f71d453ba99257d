import { Injectable } from '@nestjs/common';
import { DuplicateScheduleError } from '../errors/duplicate-schedule.error';
import { dynamicHandlerKey, staticHandlerKey } from '../redis/key-space';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';

/** Calls the decorated method; statics get (ctx), dynamic handlers (payload, ctx). */
export type HandlerInvoker = (payload: unknown, ctx: ScheduleContext) => unknown;

export interface RegisteredHandler {
  /** Due-index suffix: 'c:<static name>' or 'h:<handler name>'. */
  key: string;
  name: string;
  kind: 'static' | 'dynamic';
  /** 'Class.method', for messages. */
  source: string;
  invoke: HandlerInvoker;
}

/** Which schedule a payload is prepared for (see @PreparePayload). */
export interface PayloadTarget {
  tenantId: string;
  id: string;
  handler: string;
}

/** A @PreparePayload method: checks a payload at upsert and returns the one to store. */
export type PayloadPreparer = (payload: unknown, target: PayloadTarget) => unknown;

/** A @DistributedCron or @DistributedInterval as the pod will write it to Redis. */
export interface StaticScheduleSpec {
  name: string;
  /** The cron; for an interval, '@every <every as written>' (what declarations compare). */
  cron: string;
  /** An interval's period (ms), set for @DistributedInterval only. */
  everyMs?: number;
  /** An interval's `every` as written when it is text ('5m'), else ''. */
  writtenEvery?: string;
  timeZone: string;
  jitterMs: number;
  enabled: boolean;
  /** The decorator's own policy fields (JSON), '' for none. */
  policyJson: string;
}

/** The pod's only state: which handlers this process can run, and the statics it declares. */
@Injectable()
export class HandlerRegistry {
  private readonly handlers = new Map<string, RegisteredHandler>();
  private readonly specs: StaticScheduleSpec[] = [];
  private readonly preparers = new Map<string, { source: string; prepare: PayloadPreparer }>();

  addStatic(spec: StaticScheduleSpec, source: string, invoke: HandlerInvoker): void {
    this.add({ key: staticHandlerKey(spec.name), name: spec.name, kind: 'static', source, invoke });
    this.specs.push(spec);
  }

  addDynamic(name: string, source: string, invoke: HandlerInvoker): void {
    this.add({ key: dynamicHandlerKey(name), name, kind: 'dynamic', source, invoke });
  }

  addPreparer(name: string, source: string, prepare: PayloadPreparer): void {
    const existing = this.preparers.get(name);
    if (existing)
      throw new DuplicateScheduleError(`@PreparePayload ${name}`, existing.source, source);
    this.preparers.set(name, { source, prepare });
  }

  /** The payload to store for `target` (the @PreparePayload of its handler, if any, decides). */
  preparePayload(payload: unknown, target: PayloadTarget): unknown {
    const preparer = this.preparers.get(target.handler);
    return preparer ? preparer.prepare(payload, target) : payload;
  }

  get(key: string): RegisteredHandler | undefined {
    return this.handlers.get(key);
  }

  hasDynamic(name: string): boolean {
    return this.handlers.has(dynamicHandlerKey(name));
  }

  dynamicNames(): string[] {
    return [...this.handlers.values()].filter((h) => h.kind === 'dynamic').map((h) => h.name);
  }

  all(): RegisteredHandler[] {
    return [...this.handlers.values()];
  }

  statics(): readonly StaticScheduleSpec[] {
    return this.specs;
  }

  private add(handler: RegisteredHandler): void {
    const existing = this.handlers.get(handler.key);
    if (existing) throw new DuplicateScheduleError(handler.name, existing.source, handler.source);
    this.handlers.set(handler.key, handler);
  }
}
