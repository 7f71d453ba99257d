import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { HttpTargetsOptions } from './http-targets.options';

export const {
  ConfigurableModuleClass: HttpTargetsConfigurableModule,
  MODULE_OPTIONS_TOKEN: HTTP_TARGETS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<HttpTargetsOptions>().setClassMethodName('forRoot').build();
