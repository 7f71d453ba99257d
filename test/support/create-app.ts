import { randomUUID } from 'node:crypto';
import type { Provider } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { RedisLockService, RedisSchedulerModule, SchedulerService } from '../../lib';
import type { RedisSchedulerModuleOptions } from '../../lib';

export interface TestApp {
  module: TestingModule;
  scheduler: SchedulerService;
  locks: RedisLockService;
  close(): Promise<void>;
}

/** A fresh key prefix per test (bullmq's habit), so tests sharing a server never see each other. */
export function freshPrefix(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

/** A Nest application context with the module and `providers`, initialised (bootstrap hooks ran). */
export async function createApp(
  options: RedisSchedulerModuleOptions,
  providers: Provider[] = [],
): Promise<TestApp> {
  const module = await Test.createTestingModule({
    imports: [RedisSchedulerModule.forRoot(options)],
    providers,
  }).compile();
  module.useLogger(process.env.TEST_LOGS ? console : false);
  await module.init();
  let closed = false;
  return {
    module,
    scheduler: module.get(SchedulerService),
    locks: module.get(RedisLockService),
    close: async () => {
      if (closed) return;
      closed = true;
      await module.close();
    },
  };
}
