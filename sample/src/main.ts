import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { startupBanner } from './banner';
import { loadServiceConfig } from './service.config';

/** `npm run sample`: the scheduler service (README "Service"). */
async function bootstrap(): Promise<void> {
  const config = loadServiceConfig();
  const app = await NestFactory.create(AppModule.register(config));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  // A local demo: the banner may show generated API keys, once, on this terminal only.
  process.stdout.write(`\n${startupBanner(config)}\n\n`);
  Logger.log(`Scheduler service ${process.pid} listening on port ${config.port}`, 'Service');
}

bootstrap().catch((error: unknown) => {
  Logger.error(`The service did not start: ${String(error)}`, undefined, 'Service');
  process.exit(1);
});
