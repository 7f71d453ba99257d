import { Module } from '@nestjs/common';
import { HTTP_TARGET_CIRCUITS } from '../../index';
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
 * `RedisSchedulerModule`. Exports HttpTargetBreakers (the per-host circuit breakers' state), also
 * under the core's HTTP_TARGET_CIRCUITS token (how the admin API finds it without importing this).
 */
@Module({
  providers: [
    {
      provide: HTTP_TARGETS_OPTIONS,
      useFactory: (options: HttpTargetsOptions) => resolveHttpTargetsOptions(options),
      inject: [HTTP_TARGETS_MODULE_OPTIONS],
    },
    HttpTargetBreakers,
    { provide: HTTP_TARGET_CIRCUITS, useExisting: HttpTargetBreakers },
    HttpTargetHandler,
  ],
  exports: [HttpTargetBreakers, HTTP_TARGET_CIRCUITS],
})
export class HttpTargetsModule extends HttpTargetsConfigurableModule {}
