import type { DynamicModule, INestApplication, Provider, Type } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** A route as the HTTP framework mounted it: `GET /scheduler/tenants/:tenantId/schedules`. */
export type MountedRoute = string;

export interface AdminApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every route the framework mounted (HEAD routes Fastify adds for GET left out). */
  routes: MountedRoute[];
  /** fetch() relative to `url`, JSON in and out. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when there is none. */
  body: any;
}

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/**
 * A real Nest app on Express or Fastify, listening on a free port of 127.0.0.1, with `imports`
 * and `providers`; the routes it mounted are read from the framework itself.
 */
export async function startAdminApp(
  platform: Platform,
  imports: Array<DynamicModule | Type<unknown>>,
  providers: Provider[] = [],
): Promise<AdminApp> {
  const module = await Test.createTestingModule({ imports, providers }).compile();
  const fastifyRoutes: MountedRoute[] = [];
  let adapter: ExpressAdapter | FastifyAdapter;
  if (platform === 'fastify') {
    const fastify = new FastifyAdapter();
    fastify.getInstance().addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const m of methods) if (m !== 'HEAD') fastifyRoutes.push(`${m} ${route.url}`);
    });
    adapter = fastify;
  } else {
    adapter = new ExpressAdapter();
  }
  const app = module.createNestApplication(adapter, {
    logger: process.env.TEST_LOGS ? undefined : false,
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  let routes = fastifyRoutes;
  if (platform === 'express') {
    const stack = (adapter.getInstance() as { router: { stack: ExpressLayer[] } }).router.stack;
    routes = stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route?.path}`)
        : [],
    );
  }
  return {
    app,
    url,
    routes,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const response = await fetch(`${url}${path}`, init);
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
    },
    close: () => app.close(),
  };
}
