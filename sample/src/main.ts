import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  // A worker needs no HTTP server: an application context runs the scheduler.
  const app = await NestFactory.createApplicationContext(AppModule);
  app.enableShutdownHooks();
  Logger.log(`Sample scheduler pod ${process.pid} started; Ctrl+C to stop`, 'Sample');
}

void bootstrap();
