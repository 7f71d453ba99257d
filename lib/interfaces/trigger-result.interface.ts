/**
 * What `trigger()` and `triggerStatic()` answer for a schedule that exists (they answer null for
 * one that does not).
 */
export type TriggerResult =
  | {
      /** One extra run was accepted: it starts as soon as a pod is free, exactly once. */
      triggered: true;
      /** The run's `ctx.fireTime`: when Redis accepted the trigger. */
      fireTime: Date;
      /** The run's `ctx.idempotencyKey`, the same on every attempt of it. */
      idempotencyKey: string;
    }
  | {
      /** Refused, nothing written (see TriggerRefusal). */
      triggered: false;
      reason: TriggerRefusal;
    };

/**
 * Why a trigger was refused. 'running': the schedule's overlap policy is not 'allow' and a run of
 * it is in progress (a fire time of its series, or an earlier trigger not yet ended). 'paused': it
 * is paused (resume it first). 'parked': the engine parked it (see ScheduleState). 'finished': a
 * one-off task (`at`) that ran already, kept for inspection only (upsert it again to run it again).
 */
export type TriggerRefusal = 'running' | 'paused' | 'parked' | 'finished';
