import { Inject, Injectable } from '@nestjs/common';
import { HTTP_TARGETS_OPTIONS } from './http-targets.constants';
import type { ResolvedHttpTargetsOptions } from './http-targets.options';
import { Admission, CallResult, CircuitBreaker, CircuitState } from './circuit-breaker';

/** A host's circuit breaker as the dashboard and metrics read it. */
export interface HttpTargetCircuit {
  /** `host[:port]` as in the target URL. */
  host: string;
  state: CircuitState;
  consecutiveFailures: number;
  /** When it last opened; null while closed. */
  openedAt: Date | null;
  /** When a probe may pass; null while closed. */
  retryAt: Date | null;
}

/**
 * The per-host circuit breakers of this process (not shared between pods): inject it to read
 * their state. A host is remembered only while it has failures counted or its circuit is not
 * closed.
 */
@Injectable()
export class HttpTargetBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** The clock the breakers read (ms); tests may replace it. */
  now: () => number = Date.now;

  constructor(@Inject(HTTP_TARGETS_OPTIONS) private readonly options: ResolvedHttpTargetsOptions) {}

  /** The circuit of `host` (closed with no failures when it is not remembered). */
  circuit(host: string): HttpTargetCircuit {
    const breaker = this.breakers.get(host.toLowerCase());
    if (!breaker) {
      return { host, state: 'closed', consecutiveFailures: 0, openedAt: null, retryAt: null };
    }
    const { state, consecutiveFailures, openedAtMs } = breaker.snapshot();
    const coolDownMs = this.options.breaker ? this.options.breaker.coolDownMs : 0;
    return {
      host,
      state,
      consecutiveFailures,
      openedAt: openedAtMs === null ? null : new Date(openedAtMs),
      retryAt: openedAtMs === null ? null : new Date(openedAtMs + coolDownMs),
    };
  }

  /** Every remembered host's circuit, sorted by host. */
  circuits(): HttpTargetCircuit[] {
    return [...this.breakers.keys()].sort().map((host) => this.circuit(host));
  }

  /** Whether a call to `host` may be made now (always, when breakers are off). */
  admit(host: string): Admission {
    const breaker = this.options.breaker ? this.breakers.get(host.toLowerCase()) : undefined;
    return breaker ? breaker.admit() : { pass: true, probe: false };
  }

  /** How a call that admit() let through ended. */
  record(host: string, result: CallResult, probe: boolean): void {
    if (!this.options.breaker) return;
    const key = host.toLowerCase();
    const breaker = this.breakers.get(key);
    if (breaker) {
      breaker.record(result, probe);
      if (breaker.idle) this.breakers.delete(key);
    } else if (result === 'failure') {
      const fresh = new CircuitBreaker(this.options.breaker, () => this.now());
      fresh.record(result, probe);
      this.breakers.set(key, fresh);
    }
  }
}
