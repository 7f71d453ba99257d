import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerEvents } from '../../index';

/** Prefix of every forwarded event's name: `scheduler.run.failed`, `scheduler.lease.lost`, ... */
export const SCHEDULER_EVENT_PREFIX = 'scheduler.';

/**
 * Forwards every SchedulerEvents event of this app to `@nestjs/event-emitter` as
 * `scheduler.<event>` with the same payload, so that `@OnEvent('scheduler.run.failed')` works.
 * Listeners are called synchronously, as by SchedulerEvents (use `@OnEvent(..., { async: true })`
 * for slow work); what a listener throws is caught and never affects a run.
 */
@Injectable()
export class SchedulerEventBridge implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void) | undefined;

  constructor(
    private readonly events: SchedulerEvents,
    private readonly emitter: EventEmitter2,
  ) {}

  onModuleInit(): void {
    this.stop = this.events.onAny((event, payload) => {
      this.emitter.emit(`${SCHEDULER_EVENT_PREFIX}${event}`, payload);
    });
  }

  onModuleDestroy(): void {
    this.stop?.();
  }
}
