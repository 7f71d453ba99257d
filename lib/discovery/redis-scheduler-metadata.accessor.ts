import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  DISTRIBUTED_CRON_METADATA,
  PREPARE_PAYLOAD_METADATA,
  SCHEDULE_HANDLER_METADATA,
} from '../redis-scheduler.constants';
import type { DistributedCronMetadata } from '../interfaces/distributed-cron-options.interface';

type Method = (...args: never[]) => unknown;

/** The only reader of this module's decorator metadata. */
@Injectable()
export class RedisSchedulerMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getDistributedCron(method: Method): DistributedCronMetadata | undefined {
    return this.reflector.get<DistributedCronMetadata | undefined>(
      DISTRIBUTED_CRON_METADATA,
      method,
    );
  }

  getScheduleHandler(method: Method): string | undefined {
    return this.reflector.get<string | undefined>(SCHEDULE_HANDLER_METADATA, method);
  }

  getPreparePayload(method: Method): string | undefined {
    return this.reflector.get<string | undefined>(PREPARE_PAYLOAD_METADATA, method);
  }
}
