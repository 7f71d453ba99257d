export { SchedulerEventEmitterModule } from './scheduler-event-emitter.module';
export { SchedulerEventBridge, SCHEDULER_EVENT_PREFIX } from './scheduler-event-bridge';
