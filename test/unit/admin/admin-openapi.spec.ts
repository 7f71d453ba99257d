import { ADMIN_ROUTES, buildOpenApiDocument } from '../../../lib/integrations/admin';
import { openApiPath } from '../../../lib/integrations/admin/admin-openapi';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { operationId: string; parameters: Array<{ name: string; in: string }>; security?: unknown[] }
    >
  >;
  components: { schemas: Record<string, unknown>; securitySchemes?: object };
  security?: unknown[];
};

/** Every `$ref` in `value`. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' ? [v as string] : refs(v)));
}

describe('the OpenAPI document', () => {
  const doc = buildOpenApiDocument('ops/scheduler', { apiKeys: { admin: [], tenants: {} } }) as Doc;
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method, op })),
  );

  it('has one operation per route of the table, under the mount path', () => {
    expect(operations.map((o) => o.op.operationId).sort()).toEqual(
      Object.keys(ADMIN_ROUTES).sort(),
    );
    for (const { path, method, op } of operations) {
      const route = ADMIN_ROUTES[op.operationId as keyof typeof ADMIN_ROUTES];
      expect(method).toBe(route.method.toLowerCase());
      expect(path).toBe(openApiPath('ops/scheduler', route.path));
      expect(path).toMatch(/^\/ops\/scheduler(\/|$)/);
    }
  });

  it('declares each path parameter, and resolves every $ref', () => {
    for (const { path, op } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(inPath);
    }
    for (const ref of refs(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas).toHaveProperty([ref.split('/').pop() as string]);
    }
  });

  it('asks for a key everywhere but on itself with API keys, and documents none otherwise', () => {
    expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(doc.paths['/ops/scheduler/openapi.json'].get.security).toEqual([]);
    const open = buildOpenApiDocument('', 'none') as Doc;
    expect(open.security).toBeUndefined();
    expect(open.components.securitySchemes).toBeUndefined();
    expect(Object.keys(open.paths)).toContain('/tenants/{tenantId}/schedules');
  });
});
