import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** One answer of the app: status, headers and the JSON body (null when not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  body: { code?: string; [field: string]: unknown } | null;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** Sent as `X-API-Key: <key>`. */
  apiKey?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A real Nest HTTP app on Express or Fastify, on a free port of 127.0.0.1, logging into `logs`. */
export interface AdminHttpApp {
  app: INestApplication;
  /** Every line the app logged (all levels, arguments and stacks joined). */
  logs: string[];
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  close(): Promise<void>;
}

/** A logger that keeps every line, so tests can prove what was never logged. */
function captureLogger(logs: string[]): LoggerService {
  const keep = (...args: unknown[]) =>
    void logs.push(args.map((a) => (a instanceof Error ? `${a.stack}` : String(a))).join(' '));
  return { log: keep, error: keep, warn: keep, debug: keep, verbose: keep, fatal: keep };
}

/** Boots `metadata` as the app module on `platform` (init errors reject, the app is closed). */
export async function startAdminHttpApp(
  platform: Platform,
  metadata: ModuleMetadata,
): Promise<AdminHttpApp> {
  @Module(metadata)
  class AppModule {}
  const logs: string[] = [];
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(AppModule, adapter, {
    abortOnError: false,
    logger: captureLogger(logs),
  });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  let closed = false;
  return {
    app,
    logs,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
      if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let body: Answer['body'] = null;
      try {
        body = text ? (JSON.parse(text) as Answer['body']) : null;
      } catch {
        body = null;
      }
      return { status: response.status, headers: response.headers, body };
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
