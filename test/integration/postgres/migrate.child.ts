// One "pod" booting the PostgreSQL store: argv = connection string, schema. Prints the applied versions.
import { Pool } from 'pg';
import { migrate } from '../../../lib/integrations/postgres/migrate';

async function main(): Promise<void> {
  const [url, schema] = process.argv.slice(2);
  const pool = new Pool({ connectionString: url });
  try {
    const applied = await migrate(pool, schema, `"${schema}"`);
    process.stdout.write(JSON.stringify(applied));
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(String(error));
  process.exitCode = 1;
});
