import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type { ResolvedSchedulerOptions } from '../interfaces/redis-scheduler-options.interface';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';
import { NON_STATIC_PROVIDER } from '../redis-scheduler.messages';
import { validateIdentifier } from '../redis/identifier';
import { CronSchedule, hashSeedOf } from '../time/cron';
import { parseEvery } from '../time/fire-series';
import { validateJitter } from '../time/jitter';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { encodePolicy, validatePolicy } from '../policy/schedule-policy';
import { HandlerRegistry } from './handler.registry';
import { RedisSchedulerMetadataAccessor } from './redis-scheduler-metadata.accessor';

type Method = (...args: unknown[]) => unknown;

/**
 * Finds @DistributedCron and @ScheduleHandler methods on every provider and controller when the
 * module initialises, validates them (a bad decorator fails the boot with a clear error) and fills
 * the HandlerRegistry.
 */
@Injectable()
export class RedisSchedulerExplorer implements OnModuleInit {
  private readonly logger = new Logger('RedisScheduler');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: RedisSchedulerMetadataAccessor,
    private readonly registry: HandlerRegistry,
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly options: ResolvedSchedulerOptions,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) this.explore(wrapper);
  }

  private explore(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object') return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) return;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = instance[methodName];
      if (typeof method !== 'function') continue;
      const cron = this.accessor.getDistributedCron(method as Method);
      const handler = this.accessor.getScheduleHandler(method as Method);
      const preparer = this.accessor.getPreparePayload(method as Method);
      if (cron === undefined && handler === undefined && preparer === undefined) continue;
      const className = prototype.constructor.name;
      if (!wrapper.isDependencyTreeStatic()) {
        this.logger.warn(NON_STATIC_PROVIDER(className, methodName));
        continue;
      }
      const source = `${className}.${methodName}`;
      const call = method as Method;
      if (cron !== undefined) {
        const name = cron.name ?? source;
        validateIdentifier(`@DistributedCron name of ${source}`, name);
        const timeZone = cron.timeZone ?? this.options.defaultTimeZone;
        const interval = cron.every === undefined ? undefined : parseEvery(cron.every);
        if (interval === undefined) CronSchedule.of(cron.cron ?? '', timeZone, hashSeedOf(name));
        const jitterMs = cron.jitterMs ?? this.options.defaultJitterMs;
        validateJitter(jitterMs);
        if (cron.disabled !== undefined && typeof cron.disabled !== 'boolean') {
          throw new InvalidOptionsError(
            `@DistributedCron disabled of ${source}`,
            'it must be a boolean',
          );
        }
        validatePolicy(cron, `@DistributedCron options of ${source}`);
        this.registry.addStatic(
          {
            name,
            cron: interval === undefined ? (cron.cron ?? '') : `@every ${String(cron.every)}`,
            ...(interval === undefined
              ? {}
              : {
                  everyMs: interval,
                  writtenEvery: typeof cron.every === 'string' ? cron.every : '',
                }),
            timeZone,
            jitterMs,
            enabled: cron.disabled !== true,
            policyJson: encodePolicy(cron),
          },
          source,
          (_payload, ctx: ScheduleContext) => call.call(instance, ctx),
        );
      }
      if (handler !== undefined) {
        validateIdentifier(`@ScheduleHandler name of ${source}`, handler);
        this.registry.addDynamic(handler, source, (payload, ctx: ScheduleContext) =>
          call.call(instance, payload, ctx),
        );
      }
      if (preparer !== undefined) this.addPreparer(preparer, source, instance, call);
    }
  }

  private addPreparer(name: string, source: string, instance: object, call: Method): void {
    validateIdentifier(`@PreparePayload name of ${source}`, name);
    this.registry.addPreparer(name, source, (payload, target) => {
      const prepared = call.call(instance, payload, target);
      if (typeof (prepared as PromiseLike<unknown> | null)?.then === 'function') {
        throw new InvalidOptionsError(
          `@PreparePayload ${source}`,
          'it must return the payload to store synchronously, not a Promise',
        );
      }
      return prepared;
    });
  }
}
