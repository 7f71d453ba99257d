import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { RedisSchedulerModule } from '../../../lib';
import {
  buildOpenApiDocument,
  generateApiKey,
  hashApiKey,
  SchedulerAdminModule,
} from '../../../lib/integrations/admin';
import { freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';

/*
 * The admin API's OpenAPI document in Swagger UI (@nestjs/swagger, an optional peer the admin
 * module never loads): the app hands buildOpenApiDocument() to SwaggerModule.setup. Express, a
 * real redis-server.
 */

let redis: RedisServerHandle;
let app: INestApplication | undefined;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await app?.close();
  await redis?.stop();
});

it('Swagger UI serves the same document as GET /{path}/openapi.json', async () => {
  const auth = { apiKeys: { admin: [hashApiKey(generateApiKey())], tenants: {} } };
  const module = await Test.createTestingModule({
    imports: [
      RedisSchedulerModule.forRoot({ redis: redis.url, keyPrefix: freshPrefix() }),
      SchedulerAdminModule.forRoot({ path: 'scheduler', auth }),
    ],
  }).compile();
  app = module.createNestApplication({ logger: false });
  const document = buildOpenApiDocument('scheduler', auth) as unknown as OpenAPIObject;
  SwaggerModule.setup('scheduler/docs', app, document);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const base = `http://127.0.0.1:${port}`;

  const served = await fetch(`${base}/scheduler/openapi.json`);
  expect(served.status).toBe(200);
  const fromModule = (await served.json()) as { paths: Record<string, unknown> };
  const inSwagger = await fetch(`${base}/scheduler/docs-json`);
  expect(inSwagger.status).toBe(200);
  expect(await inSwagger.json()).toEqual(fromModule);
  expect(Object.keys(fromModule.paths)).toContain('/scheduler/tenants/{tenantId}/schedules');

  const ui = await fetch(`${base}/scheduler/docs`);
  expect(ui.status).toBe(200);
  expect(ui.headers.get('content-type')).toMatch(/text\/html/);
  expect(await ui.text()).toContain('swagger-ui');
});
