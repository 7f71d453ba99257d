import { Injectable, Logger } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  DistributedCron,
  RedisSchedulerModule,
  SchedulerService,
  StaticScheduleConflictError,
} from '../../lib';
import type { ScheduleContext } from '../../lib';
import { bootModule, closeBooted, forget, freshPrefix } from '../support/create-app';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * Two services on one Redis and keyPrefix (issue 10, A3): a @DistributedCron name that a live pod
 * declares from another class or method refuses the boot, with an ERROR naming both and the fix;
 * the same method with another cron (a rolling deploy) boots, with one warning.
 */

let server: RedisServerHandle;
beforeAll(async () => (server = await startRedisServer()));
afterAll(() => server.stop());
afterEach(() => closeBooted());

const runs: { app: string; scheduleId: string; fireTime: number }[] = [];
let errors: string[];
let warnings: string[];
let spies: jest.SpyInstance[];
beforeEach(() => {
  runs.length = 0;
  errors = [];
  warnings = [];
  spies = [
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      errors.push(String(message));
    }),
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    }),
  ];
});
afterEach(() => spies.forEach((spy) => spy.mockRestore()));

@Injectable()
class BillingJobs {
  @DistributedCron('* * * * * *', { name: 'cleanup' })
  cleanup(ctx: ScheduleContext) {
    runs.push({ app: 'billing', scheduleId: ctx.scheduleId, fireTime: ctx.fireTime.getTime() });
  }
}

@Injectable()
class MailJobs {
  @DistributedCron('*/2 * * * * *', { name: 'cleanup' })
  cleanup(ctx: ScheduleContext) {
    runs.push({ app: 'mail', scheduleId: ctx.scheduleId, fireTime: ctx.fireTime.getTime() });
  }
}

/** Version `app` of one service's class: the same 'Jobs.cleanup' with the cron it declares. */
function jobsVersion(app: string, cron: string) {
  @Injectable()
  class Jobs {
    @DistributedCron(cron, { name: 'cleanup' })
    cleanup(ctx: ScheduleContext) {
      runs.push({ app, scheduleId: ctx.scheduleId, fireTime: ctx.fireTime.getTime() });
    }
  }
  return Jobs;
}

function boot(keyPrefix: string, provider: new () => object): Promise<TestingModule> {
  return bootModule([RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix })], [provider]);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the boot to be refused, but it succeeded');
    },
    (error: unknown) => error,
  );
}

describe('a static name declared by two services on one keyPrefix', () => {
  it('refuses the second boot with StaticScheduleConflictError naming both methods and the fix; the first keeps its schedule', async () => {
    const prefix = freshPrefix();
    const billing = await boot(prefix, BillingJobs);
    await waitFor(() => runs.some((r) => r.app === 'billing'), { message: 'a billing run' });

    const error = await rejection(boot(prefix, MailJobs));
    expect(error).toBeInstanceOf(StaticScheduleConflictError);
    expect(error).toMatchObject({
      code: 'STATIC_SCHEDULE_CONFLICT',
      scheduleName: 'cleanup',
      source: 'MailJobs.cleanup',
      otherSources: ['BillingJobs.cleanup'],
      keyPrefix: prefix,
    });
    const { message } = error as Error;
    expect(message).toContain('distinct keyPrefix per service');
    expect(message).toContain('rename one of the schedules');
    const logged = errors.filter((e) => e.includes('@DistributedCron "cleanup"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('MailJobs.cleanup');
    expect(logged[0]).toContain('BillingJobs.cleanup');

    // The refused pod changed nothing: the schedule keeps billing's cron, and only billing runs it.
    const stored = await billing.get(SchedulerService).getStatic('cleanup');
    expect(stored).toMatchObject({ cron: '* * * * * *' });
    const from = Date.now();
    await waitFor(() => runs.filter((r) => r.fireTime > from).length >= 2, {
      message: 'two more runs',
    });
    expect(runs.every((r) => r.app === 'billing')).toBe(true);
    // ...nor left a declaration behind: another billing pod boots.
    await boot(prefix, BillingJobs);
  });

  it('lets the other service boot once the first has stopped, and each service on its own keyPrefix', async () => {
    const prefix = freshPrefix();
    const billing = await boot(prefix, BillingJobs);
    await boot(freshPrefix(), MailJobs); // another keyPrefix: no conflict
    forget(billing);
    await billing.close();
    await boot(prefix, MailJobs);
    expect(errors.filter((e) => e.includes('@DistributedCron'))).toEqual([]);
  });
});

describe('a rolling deploy that changes the cron of a static', () => {
  it('boots the new version next to the old one, warns once naming both timings, and the new timing is written', async () => {
    const prefix = freshPrefix();
    await boot(prefix, jobsVersion('v1', '* * * * * *'));
    const v2 = await boot(prefix, jobsVersion('v2', '*/2 * * * * *'));
    const changed = warnings.filter((w) => w.includes('@DistributedCron "cleanup"'));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toContain('"*/2 * * * * *" (UTC, jitter 0 ms)');
    expect(changed[0]).toContain('"* * * * * *" (UTC, jitter 0 ms) (1 pod(s))');
    expect(changed[0]).toContain('rolling deploy');
    expect(await v2.get(SchedulerService).getStatic('cleanup')).toMatchObject({
      cron: '*/2 * * * * *',
    });
    // A third pod of the new version agrees with the second, and still boots.
    await boot(prefix, jobsVersion('v2', '*/2 * * * * *'));
    expect(errors).toEqual([]);
  });
});
