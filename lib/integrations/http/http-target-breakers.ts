import { Inject, Injectable, Optional } from '@nestjs/common';
import { SchedulerEvents } from '../../index';
import { HTTP_TARGETS_OPTIONS } from './http-targets.constants';
import type { ResolvedHttpTargetsOptions } from './http-targets.options';
import { Admission, CallResult, CircuitBreaker, CircuitState } from './circuit-breaker';

/** A tenant's circuit breaker of a host, as the admin API, dashboard and metrics read it. */
export interface HttpTargetCircuit {
  /** The tenant whose schedules call the host ('' for static schedules). */
  tenantId: string;
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
 * The circuit breakers of this process (not shared between pods), one per tenant and host, so
 * that one tenant's failing endpoints never open the circuit of a host another tenant calls:
 * inject it to read their state. A breaker is remembered only while it has failures counted or
 * is not closed. Every change of a breaker's state is emitted as the SchedulerEvents event
 * 'target.circuit' (which the Prometheus metrics turn into a gauge). Static schedules are tenant ''.
 */
@Injectable()
export class HttpTargetBreakers {
  /** Tenant id -> lower-cased host -> its breaker; a tenant without breakers is removed. */
  private readonly breakers = new Map<string, Map<string, CircuitBreaker>>();
  /** The clock the breakers read (ms); tests may replace it. */
  now: () => number = Date.now;

  constructor(
    @Inject(HTTP_TARGETS_OPTIONS) private readonly options: ResolvedHttpTargetsOptions,
    @Optional() private readonly events?: SchedulerEvents,
  ) {}

  /** The tenant's circuit of `host` (closed with no failures when it is not remembered). */
  circuit(tenantId: string, host: string): HttpTargetCircuit {
    const key = host.toLowerCase();
    const breaker = this.breakers.get(tenantId)?.get(key);
    if (!breaker) {
      return {
        tenantId,
        host: key,
        state: 'closed',
        consecutiveFailures: 0,
        openedAt: null,
        retryAt: null,
      };
    }
    // Reading it may find its cool-down over: open becomes half-open.
    const { state, consecutiveFailures, openedAtMs } = this.watched(tenantId, key, breaker, () =>
      breaker.snapshot(),
    );
    const coolDownMs = this.options.breaker ? this.options.breaker.coolDownMs : 0;
    return {
      tenantId,
      host: key,
      state,
      consecutiveFailures,
      openedAt: openedAtMs === null ? null : new Date(openedAtMs),
      retryAt: openedAtMs === null ? null : new Date(openedAtMs + coolDownMs),
    };
  }

  /**
   * The remembered circuits of `tenantId` sorted by host; without it, every tenant's, sorted by
   * tenant then host.
   */
  circuits(tenantId?: string): HttpTargetCircuit[] {
    const tenants = tenantId === undefined ? [...this.breakers.keys()].sort() : [tenantId];
    return tenants.flatMap((tenant) =>
      [...(this.breakers.get(tenant)?.keys() ?? [])]
        .sort()
        .map((host) => this.circuit(tenant, host)),
    );
  }

  /** Whether a call of the tenant to `host` may be made now (always, when breakers are off). */
  admit(tenantId: string, host: string): Admission {
    const key = host.toLowerCase();
    const breaker = this.options.breaker ? this.breakers.get(tenantId)?.get(key) : undefined;
    return breaker
      ? this.watched(tenantId, key, breaker, () => breaker.admit())
      : { pass: true, probe: false };
  }

  /** How a call that admit() let through ended. */
  record(tenantId: string, host: string, result: CallResult, probe: boolean): void {
    if (!this.options.breaker) return;
    const key = host.toLowerCase();
    const hosts = this.breakers.get(tenantId);
    const breaker = hosts?.get(key);
    if (hosts && breaker) {
      this.watched(tenantId, key, breaker, () => breaker.record(result, probe));
      if (breaker.idle) hosts.delete(key);
      if (hosts.size === 0) this.breakers.delete(tenantId);
    } else if (result === 'failure') {
      const fresh = new CircuitBreaker(this.options.breaker, () => this.now());
      this.breakers.set(tenantId, (hosts ?? new Map<string, CircuitBreaker>()).set(key, fresh));
      this.watched(tenantId, key, fresh, () => fresh.record(result, probe));
    }
  }

  /** Runs `change` on `breaker` and emits 'target.circuit' when it moved the breaker's state. */
  private watched<T>(tenantId: string, host: string, breaker: CircuitBreaker, change: () => T): T {
    const before = breaker.current;
    const out = change();
    const state = breaker.current;
    if (state !== before && this.events?.wants('target.circuit')) {
      const { consecutiveFailures } = breaker;
      this.events.emit('target.circuit', { tenantId, host, state, consecutiveFailures });
    }
    return out;
  }
}
