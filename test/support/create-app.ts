import { randomUUID } from 'node:crypto';
import type { DynamicModule, Provider, Type } from '@nestjs/common';
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

const booted: TestingModule[] = [];

/**
 * Compiles and initialises a testing module from `imports` + `providers`, keeping it for
 * closeBooted() (called in afterEach) so that a module whose init fails is still closed.
 */
export async function bootModule(
  imports: Array<DynamicModule | Type<unknown>>,
  providers: Provider[] = [],
): Promise<TestingModule> {
  const module = await Test.createTestingModule({ imports, providers }).compile();
  module.useLogger(process.env.TEST_LOGS ? console : false);
  booted.push(module);
  await module.init();
  return module;
}

export async function closeBooted(): Promise<void> {
  await Promise.all(booted.splice(0).map((m) => m.close()));
}

/** For a test that closes a booted module itself: closeBooted() leaves it alone. */
export function forget(module: TestingModule): void {
  booted.splice(booted.indexOf(module), 1);
}
