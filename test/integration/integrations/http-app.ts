import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { RedisSchedulerModule, type RedisSchedulerModuleOptions } from 'nestjs-redis-scheduler';

/** A real Nest HTTP application (express) listening on a free port of 127.0.0.1. */
export interface HttpApp {
  app: INestApplication;
  url: string;
  get(path: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** Boots an HTTP app with RedisSchedulerModule.forRoot(options) and `metadata`. */
export async function startHttpApp(
  options: RedisSchedulerModuleOptions,
  metadata: ModuleMetadata,
): Promise<HttpApp> {
  @Module({
    ...metadata,
    imports: [RedisSchedulerModule.forRoot(options), ...(metadata.imports ?? [])],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), {
    abortOnError: false,
    logger: process.env.TEST_LOGS ? ['log', 'warn', 'error'] : false,
  });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  let closed = false;
  return {
    app,
    url,
    async get(path) {
      const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: await response.text() };
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
