import { applyDecorators, SetMetadata } from '@nestjs/common';
import { PREPARE_PAYLOAD_METADATA } from '../redis-scheduler.constants';

/**
 * Marks the method that checks (and may transform) the payload of dynamic schedules whose
 * `handler` is `name`, when `upsert()` / `upsertMany()` validate them, before anything is written.
 * It receives (payload, { tenantId, id, handler }) and returns, synchronously, the payload to
 * store; to refuse one it throws a SchedulerError subclass saying what is wrong. At most one per
 * handler name; it runs in every process that upserts (API pods included), not at run time.
 */
export function PreparePayload(name: string): MethodDecorator {
  return applyDecorators(SetMetadata(PREPARE_PAYLOAD_METADATA, name));
}
