import { Module } from '@nestjs/common';
import { SchedulerEventBridge } from './scheduler-event-bridge';

/**
 * Emits every scheduler event on the app's `EventEmitter2` as `scheduler.<event>`. Import it
 * next to `EventEmitterModule.forRoot()` and `RedisSchedulerModule` (both global by default).
 */
@Module({ providers: [SchedulerEventBridge] })
export class SchedulerEventEmitterModule {}
