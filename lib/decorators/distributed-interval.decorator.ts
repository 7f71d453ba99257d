import { applyDecorators, SetMetadata } from '@nestjs/common';
import { DISTRIBUTED_CRON_METADATA } from '../redis-scheduler.constants';
import type {
  DistributedCronMetadata,
  DistributedCronOptions,
} from '../interfaces/distributed-cron-options.interface';

/**
 * Runs the method on one replica per fire time of a fixed interval: `every` in milliseconds, or a
 * number with a unit ('500ms', '90s', '5m', '1h', '1d'). Fire times are anchor + k × every, the
 * anchor being when the schedule was first written to Redis; later boots with the same `every`
 * keep it. The method receives a ScheduleContext. Default name: '<Class>.<method>'.
 */
export function DistributedInterval(
  every: number | string,
  options: Omit<DistributedCronOptions, 'timeZone'> = {},
): MethodDecorator {
  const metadata: DistributedCronMetadata = { ...options, every };
  return applyDecorators(SetMetadata(DISTRIBUTED_CRON_METADATA, metadata));
}
