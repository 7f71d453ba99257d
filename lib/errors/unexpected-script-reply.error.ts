import { SchedulerError } from './scheduler.error';

/**
 * A Lua script answered something its header does not list. The scripts a process runs are
 * defined from its own copy of lib/redis/scripts (content-hashed command names), so this is a
 * defect of the module, not of the caller's input.
 */
export class UnexpectedScriptReplyError extends SchedulerError {
  constructor(
    readonly script: string,
    readonly reply: string,
  ) {
    super(
      'SCRIPT_ERROR',
      `Lua script "${script}" answered ${reply}, which its header does not list; nothing was decoded. This is a defect of nestjs-redis-scheduler: please report it with this message.`,
    );
  }
}
