import { ConfigurableModuleBuilder } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import type { SchedulerAdminExtras, SchedulerAdminOptions } from './scheduler-admin.options';
import { resolveAdminPath } from './scheduler-admin.options';

/**
 * forRoot(options) and forRootAsync({ path, imports, inject, useFactory }): the mount `path` is an
 * extra, known before any factory runs (routes are mounted before providers resolve).
 */
export const {
  ConfigurableModuleClass: SchedulerAdminConfigurableModule,
  MODULE_OPTIONS_TOKEN: SCHEDULER_ADMIN_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<SchedulerAdminOptions>()
  .setClassMethodName('forRoot')
  .setExtras<SchedulerAdminExtras>({ path: undefined }, (definition, extras) => {
    const path = resolveAdminPath(extras.path);
    return {
      ...definition,
      imports: [
        ...(definition.imports ?? []),
        RouterModule.register([{ path, module: definition.module }]),
      ],
      providers: [...(definition.providers ?? []), { provide: ADMIN_PATH, useValue: path }],
    };
  })
  .build();

/** Injection token of the resolved mount path ('' at the root). */
export const ADMIN_PATH = Symbol('SCHEDULER_ADMIN_PATH');
