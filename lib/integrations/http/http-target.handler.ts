import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Agent, fetch } from 'undici';
import {
  NonRetryableError,
  PayloadTarget,
  SchedulerError,
  PreparePayload,
  RunTimeoutError,
  ScheduleContext,
  ScheduleHandler,
} from '../../index';
import {
  HttpTargetCircuitOpenError,
  HttpTargetFailedError,
  HttpTargetNotAllowedError,
  HttpTargetRejectedError,
} from './http-target.errors';
import { HttpTargetBreakers } from './http-target-breakers';
import {
  HttpTargetPayload,
  openHeaders,
  parseHttpPayload,
  prepareHttpPayload,
} from './http-target.payload';
import {
  ATTEMPT_HEADER,
  FENCING_TOKEN_HEADER,
  FIRE_TIME_HEADER,
  HTTP_HANDLER,
  HTTP_TARGETS_OPTIONS,
  IDEMPOTENCY_KEY_HEADER,
} from './http-targets.constants';
import type { ResolvedHttpTargetsOptions } from './http-targets.options';
import { describeTarget, guardedLookup, RefusedAddressError } from './target-policy';

/** What a successful call returns: it becomes the run's result. */
export interface HttpCallResult {
  status: number;
  durationMs: number;
}

/**
 * The built-in handler `'http'`: calls the payload's URL with fetch (undici's, through an Agent
 * whose DNS lookup refuses the addresses the options refuse and connects to the address it
 * checked). 2xx succeeds; 5xx, timeouts and network errors throw a retryable error; 3xx and 4xx
 * and refused targets a NonRetryableError. Header values appear in no message.
 */
@Injectable()
export class HttpTargetHandler implements OnModuleDestroy {
  private readonly agent: Agent;

  constructor(
    @Inject(HTTP_TARGETS_OPTIONS) private readonly options: ResolvedHttpTargetsOptions,
    private readonly breakers: HttpTargetBreakers,
  ) {
    this.agent = new Agent({ connect: { lookup: guardedLookup(options.addresses) } });
  }

  @PreparePayload(HTTP_HANDLER)
  prepare(payload: unknown, target: PayloadTarget): HttpTargetPayload {
    return prepareHttpPayload(payload, target, this.options);
  }

  @ScheduleHandler(HTTP_HANDLER)
  async call(payload: HttpTargetPayload, ctx: ScheduleContext): Promise<HttpCallResult> {
    const { call, secrets } = this.open(payload, ctx);
    const target = describeTarget(call.method, call.url);
    const host = call.url.host;
    const tenantId = ctx.tenantId ?? '';
    const admission = this.breakers.admit(tenantId, host);
    if (!admission.pass) throw new HttpTargetCircuitOpenError(host, new Date(admission.retryAtMs));
    const timeoutMs = call.timeoutMs ?? this.options.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let verdict: 'success' | 'failure' | 'neutral' = 'neutral';
    try {
      const response = await fetch(call.url, {
        method: call.method,
        headers: {
          ...(call.contentType === undefined ? {} : { 'content-type': call.contentType }),
          ...secrets,
          [IDEMPOTENCY_KEY_HEADER]: ctx.idempotencyKey,
          [FENCING_TOKEN_HEADER]: String(ctx.fencingToken),
          [FIRE_TIME_HEADER]: ctx.fireTime.toISOString(),
          [ATTEMPT_HEADER]: String(ctx.attempt),
        },
        body: call.body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, timeout]),
        dispatcher: this.agent,
      });
      await response.body?.cancel().catch(() => undefined);
      const status = response.status;
      const durationMs = elapsed();
      if (status >= 200 && status < 300) {
        verdict = 'success';
        return { status, durationMs };
      }
      if (status >= 500) {
        verdict = 'failure';
        throw new HttpTargetFailedError(target, status, durationMs, `HTTP ${status}`);
      }
      verdict = 'success'; // the target is up and answered: it refused this request
      throw new HttpTargetRejectedError(target, status, durationMs);
    } catch (error) {
      if (error instanceof HttpTargetFailedError || error instanceof HttpTargetRejectedError) {
        throw error;
      }
      const refused = findCause(error, RefusedAddressError);
      if (refused) throw new HttpTargetNotAllowedError(target, refused.message);
      if (ctx.signal.aborted && !(ctx.signal.reason instanceof RunTimeoutError)) {
        throw ctx.signal.reason; // lease lost or shutting down: says nothing about the target
      }
      verdict = 'failure';
      const timedOut = timeout.aborted || ctx.signal.aborted;
      const reason = timedOut ? `timed out` : networkReason(error);
      throw new HttpTargetFailedError(target, 0, elapsed(), redact(reason, secrets), timedOut);
    } finally {
      this.breakers.record(tenantId, host, verdict, admission.probe);
    }
  }

  /** The stored payload checked again and its headers decrypted; a problem is final (no retry). */
  private open(payload: unknown, ctx: ScheduleContext) {
    try {
      const call = parseHttpPayload(payload, this.options);
      const owner = { tenantId: ctx.tenantId ?? '', scheduleId: ctx.scheduleId };
      return { call, secrets: openHeaders(call.headers, owner, this.options.cipher) };
    } catch (error) {
      if (error instanceof NonRetryableError) throw error;
      const { message, code } = error as SchedulerError;
      throw new NonRetryableError(message, { cause: error, code });
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}

/** The first error of the `cause` chain that is a `type`. */
function findCause<T>(error: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof type) return e;
  }
  return undefined;
}

/** A network error as one short line: the deepest cause's code and message. */
function networkReason(error: unknown): string {
  let e = error as { cause?: unknown; code?: unknown; message?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `network error (${code}${String(e?.message ?? e)})`.slice(0, 300);
}

/** `text` with every header value replaced: nothing a target sent back may echo a secret. */
function redact(text: string, secrets: Record<string, string>): string {
  let out = text;
  for (const value of Object.values(secrets)) {
    if (value.length > 0) out = out.split(value).join('[redacted]');
  }
  return out;
}
