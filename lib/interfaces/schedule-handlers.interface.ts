/**
 * Handler name → payload type, empty by default. Augment it to have `upsert()` and
 * `upsertMany()` check each payload at compile time against its handler:
 *
 * ```ts
 * declare module 'nestjs-redis-scheduler' {
 *   interface ScheduleHandlers {
 *     'report.generate': { reportId: string };
 *   }
 * }
 * ```
 *
 * A handler name it does not list takes any payload, as before.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- empty until users augment it
export interface ScheduleHandlers {}

/** The payload type of handler `THandler`: what ScheduleHandlers declares, else `TFallback`. */
export type HandlerPayload<
  THandler extends string,
  TFallback = unknown,
> = THandler extends keyof ScheduleHandlers ? ScheduleHandlers[THandler] : TFallback;
