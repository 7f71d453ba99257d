import { Inject, Injectable, Optional } from '@nestjs/common';
import { SchedulerEvents } from '../../index';
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
 * closed. Every change of a host's state is emitted as the SchedulerEvents event
 * 'target.circuit' (which the Prometheus metrics turn into a gauge).
 */
@Injectable()
export class HttpTargetBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** The clock the breakers read (ms); tests may replace it. */
  now: () => number = Date.now;

  constructor(
    @Inject(HTTP_TARGETS_OPTIONS) private readonly options: ResolvedHttpTargetsOptions,
    @Optional() private readonly events?: SchedulerEvents,
  ) {}

  /** The circuit of `host` (closed with no failures when it is not remembered). */
  circuit(host: string): HttpTargetCircuit {
    const key = host.toLowerCase();
    const breaker = this.breakers.get(key);
    if (!breaker) {
      return { host, state: 'closed', consecutiveFailures: 0, openedAt: null, retryAt: null };
    }
    // Reading it may find its cool-down over: open becomes half-open.
    const { state, consecutiveFailures, openedAtMs } = this.watched(key, breaker, () =>
      breaker.snapshot(),
    );
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
    const key = host.toLowerCase();
    const breaker = this.options.breaker ? this.breakers.get(key) : undefined;
    return breaker
      ? this.watched(key, breaker, () => breaker.admit())
      : { pass: true, probe: false };
  }

  /** How a call that admit() let through ended. */
  record(host: string, result: CallResult, probe: boolean): void {
    if (!this.options.breaker) return;
    const key = host.toLowerCase();
    const breaker = this.breakers.get(key);
    if (breaker) {
      this.watched(key, breaker, () => breaker.record(result, probe));
      if (breaker.idle) this.breakers.delete(key);
    } else if (result === 'failure') {
      const fresh = new CircuitBreaker(this.options.breaker, () => this.now());
      this.breakers.set(key, fresh);
      this.watched(key, fresh, () => fresh.record(result, probe));
    }
  }

  /** Runs `change` on `breaker` and emits 'target.circuit' when it moved the breaker's state. */
  private watched<T>(host: string, breaker: CircuitBreaker, change: () => T): T {
    const before = breaker.current;
    const out = change();
    const state = breaker.current;
    if (state !== before && this.events?.wants('target.circuit')) {
      const { consecutiveFailures } = breaker;
      this.events.emit('target.circuit', { host, state, consecutiveFailures });
    }
    return out;
  }
}
