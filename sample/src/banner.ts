import { DEMO_TENANT, type ServiceConfig } from './service.config';

/** What the service prints once it listens: where to look, the demo keys, a curl line to try. */
export function startupBanner(config: ServiceConfig): string {
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  const demoKey = config.tenantKeys[DEMO_TENANT].key;
  const body = JSON.stringify({
    id: 'hello',
    cron: '*/10 * * * * *',
    handler: 'http',
    payload: { url: `${config.echoUrl}hello`, body: { hi: 'there' } },
  });
  const keys = [
    ['admin', config.adminKey],
    ...Object.entries(config.tenantKeys).map(([tenant, key]) => [`tenant ${tenant}`, key] as const),
  ] as const;
  const lines = [
    `Scheduler service on ${base} (pid ${process.pid}, ${config.databaseUrl ? 'PostgreSQL store + Redis' : 'Redis alone'})`,
    `  dashboard:   ${base}/scheduler/`,
    `  API:         ${base}/scheduler/openapi.json`,
    `  echo target: ${config.echoUrl}<name> (the demo tenant's schedules call it)`,
    '  API keys (LOCAL DEMO ONLY: generated ones are printed once and change at every start;',
    '  set ADMIN_API_KEY and DEMO_TENANT_KEY to keep them, and to share them between instances):',
    ...keys.map(
      ([who, { key, generated }]) =>
        `    ${who.padEnd(14)} ${generated ? key : '(from the environment, not printed)'}`,
    ),
    '  Create a schedule that calls the echo target every 10 s:',
    `    curl -s -X POST ${base}/scheduler/tenants/${DEMO_TENANT}/schedules \\`,
    `      -H 'Authorization: Bearer ${config.tenantKeys[DEMO_TENANT].generated ? demoKey : '$DEMO_TENANT_KEY'}' \\`,
    `      -H 'Content-Type: application/json' -d '${body}'`,
  ];
  return lines.join('\n');
}
