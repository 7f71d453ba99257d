import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RedisSchedulerModuleOptions } from './interfaces/redis-scheduler-options.interface';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } =
  new ConfigurableModuleBuilder<RedisSchedulerModuleOptions>()
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();
