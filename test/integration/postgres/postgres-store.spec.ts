import { PostgresScheduleStore } from '../../../lib/integrations/postgres';
import { describeScheduleStoreConformance } from '../../conformance/schedule-store.conformance';
import { startPostgresServer, type PostgresServerHandle } from '../../support/postgres-server';

let pg: PostgresServerHandle;
beforeAll(async () => (pg = await startPostgresServer()));
afterAll(() => pg?.stop());

describeScheduleStoreConformance('PostgresScheduleStore', async () => {
  const store = new PostgresScheduleStore({ connectionString: pg.url });
  await store.init();
  return { store };
});
