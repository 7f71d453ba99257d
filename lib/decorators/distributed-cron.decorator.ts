import { applyDecorators, SetMetadata } from '@nestjs/common';
import { DISTRIBUTED_CRON_METADATA } from '../redis-scheduler.constants';
import type {
  DistributedCronMetadata,
  DistributedCronOptions,
} from '../interfaces/distributed-cron-options.interface';

/**
 * Runs the method on one replica per fire time of `cron` (5 fields, or 6 with seconds first).
 * The method receives a ScheduleContext. Default name: '<Class>.<method>'. An `H` in `cron` is
 * drawn once from the schedule's name, the same in every replica.
 */
export function DistributedCron(
  cron: string,
  options: DistributedCronOptions = {},
): MethodDecorator {
  const metadata: DistributedCronMetadata = { ...options, cron };
  return applyDecorators(SetMetadata(DISTRIBUTED_CRON_METADATA, metadata));
}
