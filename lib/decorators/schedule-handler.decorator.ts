import { applyDecorators, SetMetadata } from '@nestjs/common';
import { SCHEDULE_HANDLER_METADATA } from '../redis-scheduler.constants';

/**
 * Marks the method that runs dynamic schedules whose `handler` is `name`.
 * It receives (payload, ScheduleContext).
 */
export function ScheduleHandler(name: string): MethodDecorator {
  return applyDecorators(SetMetadata(SCHEDULE_HANDLER_METADATA, name));
}
