import { Module } from '@nestjs/common';
import { HttpTargetBreakers } from './http-target-breakers';
import { HttpTargetHandler } from './http-target.handler';
import { HTTP_TARGETS_OPTIONS } from './http-targets.constants';
import {
  HTTP_TARGETS_MODULE_OPTIONS,
  HttpTargetsConfigurableModule,
} from './http-targets.module-definition';
import { HttpTargetsOptions, resolveHttpTargetsOptions } from './http-targets.options';

/**
 * The built-in handler `'http'` for schedules that call a URL:
 * `HttpTargetsModule.forRoot({ allow: ['https://hooks.example.com/'] })` next to
 * `RedisSchedulerModule`. Exports HttpTargetBreakers (the per-host circuit breakers' state).
 */
@Module({
  providers: [
    {
      provide: HTTP_TARGETS_OPTIONS,
      useFactory: (options: HttpTargetsOptions) => resolveHttpTargetsOptions(options),
      inject: [HTTP_TARGETS_MODULE_OPTIONS],
    },
    HttpTargetBreakers,
    HttpTargetHandler,
  ],
  exports: [HttpTargetBreakers],
})
export class HttpTargetsModule extends HttpTargetsConfigurableModule {}
