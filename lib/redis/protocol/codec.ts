import { reasonOf, unexpectedReply, type ScriptReason } from '../../errors/script-codes';

/*
 * What the codecs of this folder share. A codec builds a script's arguments (KEYS, then ARGV, in
 * the order its header documents) and decodes its reply into a typed result; RedisScripts only
 * sends the one and hands back the other.
 */

/** One argument of a script call. */
export type ScriptArg = string | number;

/** A script's answer for one run: 'ok' (it did what was asked), or why it left the run alone. */
export type Verdict<R extends ScriptReason> = 'ok' | R;

/** Decodes one run's code: 1 is 'ok'; a ScriptCode the script may answer is its reason. */
export function verdict<R extends ScriptReason>(
  script: string,
  code: number,
  allowed: readonly R[],
): Verdict<R> {
  return code === 1 ? 'ok' : reason(script, code, allowed);
}

/** The reason of a ScriptCode the script may answer; any other reply is a defect and throws. */
export function reason<R extends ScriptReason>(
  script: string,
  code: number,
  allowed: readonly R[],
): R {
  const named = reasonOf(code);
  if (named !== undefined && (allowed as readonly ScriptReason[]).includes(named))
    return named as R;
  throw unexpectedReply(script, code);
}
