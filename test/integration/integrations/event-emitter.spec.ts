import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import {
  RedisSchedulerModule,
  ScheduleHandler,
  SchedulerEvents,
  SchedulerService,
  type RunEvent,
  type SchedulerEventMap,
} from 'nestjs-redis-scheduler';
import { SchedulerEventEmitterModule } from 'nestjs-redis-scheduler/event-emitter';
import { bootModule, closeBooted, freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

/*
 * Issue 11, item 4: with EventEmitterModule in the app, every scheduler event is also emitted as
 * `scheduler.<event>`, so that `@OnEvent('scheduler.run.failed')` works.
 */

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server.stop());
afterEach(() => closeBooted());

let started: RunEvent[] = [];
let succeeded: RunEvent[] = [];
let failed: SchedulerEventMap['run.failed'][] = [];
let wildcard: string[] = [];

@Injectable()
class Jobs {
  @ScheduleHandler('flaky')
  flaky(payload: { fail: boolean }): void {
    if (payload.fail) throw new Error('flaky failed');
  }
}

@Injectable()
class Listeners {
  @OnEvent('scheduler.run.started')
  onStarted(e: RunEvent): void {
    started.push(e);
  }

  @OnEvent('scheduler.run.succeeded')
  onSucceeded(e: RunEvent): void {
    succeeded.push(e);
  }

  @OnEvent('scheduler.run.failed')
  onFailed(e: SchedulerEventMap['run.failed']): void {
    failed.push(e);
  }

  @OnEvent('scheduler.*.*')
  onTwoLevels(): void {
    wildcard.push('hit');
  }

  @OnEvent('scheduler.run.failed')
  throws(): void {
    throw new Error('a listener that throws must not affect the run');
  }
}

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };

describe('SchedulerEventEmitterModule', () => {
  beforeEach(() => {
    [started, succeeded, failed, wildcard] = [[], [], [], []];
  });

  it('emits each scheduler event as scheduler.<event> to @OnEvent listeners', async () => {
    const module = await bootModule(
      [
        EventEmitterModule.forRoot({ wildcard: true }),
        RedisSchedulerModule.forRoot({
          redis: server.url,
          keyPrefix: freshPrefix(),
          tenantGuards: open,
        }),
        SchedulerEventEmitterModule,
      ],
      [Jobs, Listeners],
    );
    const scheduler = module.get(SchedulerService);
    await scheduler.upsert({
      tenantId: 'acme',
      id: 'good',
      cron: '* * * * * *',
      handler: 'flaky',
      payload: { fail: false },
    });
    await scheduler.upsert({
      tenantId: 'acme',
      id: 'bad',
      cron: '* * * * * *',
      handler: 'flaky',
      payload: { fail: true },
    });
    await waitFor(() => succeeded.length >= 1 && failed.length >= 2, {
      message: 'a success and two failures',
    });
    // The throwing listener changed nothing: the failure is recorded as such, and runs go on.
    expect((await scheduler.get('acme', 'bad'))?.lastStatus).toBe('failed');
    expect((await scheduler.get('acme', 'good'))?.lastStatus).toBe('succeeded');
    await scheduler.remove('acme', 'good');
    await scheduler.remove('acme', 'bad');

    expect(succeeded[0]).toMatchObject({ scheduleId: 'good', tenantId: 'acme', handler: 'flaky' });
    expect(succeeded[0].fireTime).toBeInstanceOf(Date);
    expect(failed[0]).toMatchObject({ scheduleId: 'bad', error: 'flaky failed', attempt: 1 });
    expect(started.some((e) => e.scheduleId === 'good')).toBe(true);
    // Wildcards work too: 'scheduler.*.*' hears run.started, run.succeeded and run.failed.
    expect(wildcard.length).toBeGreaterThanOrEqual(started.length + succeeded.length);
  });

  it('stops listening to SchedulerEvents when the app closes', async () => {
    const module = await bootModule(
      [
        EventEmitterModule.forRoot(),
        RedisSchedulerModule.forRoot({
          redis: server.url,
          keyPrefix: freshPrefix(),
          tenantGuards: open,
        }),
        SchedulerEventEmitterModule,
      ],
      [Jobs, Listeners],
    );
    const events = module.get(SchedulerEvents);
    expect(events.wants('lease.lost')).toBe(true);
    await closeBooted();
    expect(events.wants('lease.lost')).toBe(false);
  });
});
