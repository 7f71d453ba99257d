/** A breaker's state: calls pass (closed), fail fast (open), or one probe passes (half-open). */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long it stays open before one probe call may pass. */
  coolDownMs: number;
}

/** What a breaker says about a call it is asked to let through. */
export type Admission = { pass: true; probe: boolean } | { pass: false; retryAtMs: number };

/** How a call that passed ended: `neutral` for one that says nothing about the target (aborted). */
export type CallResult = 'success' | 'failure' | 'neutral';

/**
 * One host's circuit breaker, a pure state machine over a clock:
 * closed --(threshold consecutive failures)--> open --(cool-down over: one call passes as the
 * probe)--> half-open --(probe succeeds)--> closed, or --(probe fails)--> open again for another
 * cool-down. While half-open, calls other than the probe fail fast; a probe that ends neutral
 * lets the next call probe instead.
 */
export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private failures = 0;
  private openedAtMs = 0;
  private probing = false;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly now: () => number,
  ) {}

  admit(): Admission {
    if (this.state === 'closed') return { pass: true, probe: false };
    const retryAtMs = this.openedAtMs + this.options.coolDownMs;
    if (this.state === 'open' && this.now() >= retryAtMs) this.state = 'half-open';
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return { pass: true, probe: true };
    }
    return { pass: false, retryAtMs };
  }

  /** The end of a call `admit()` let through. */
  record(result: CallResult, probe: boolean): void {
    if (probe) this.probing = false;
    if (result === 'success') {
      this.state = 'closed';
      this.failures = 0;
    } else if (result === 'failure') {
      this.failures++;
      if (probe || (this.state === 'closed' && this.failures >= this.options.failureThreshold)) {
        this.state = 'open';
        this.openedAtMs = this.now();
      }
    }
  }

  /** A call that was not a probe cannot move a half-open breaker; this reads where it stands. */
  snapshot(): { state: CircuitState; consecutiveFailures: number; openedAtMs: number | null } {
    if (this.state === 'open' && this.now() >= this.openedAtMs + this.options.coolDownMs) {
      this.state = 'half-open';
    }
    return {
      state: this.state,
      consecutiveFailures: this.failures,
      openedAtMs: this.state === 'closed' ? null : this.openedAtMs,
    };
  }

  /** Its state as last moved (admit, record or snapshot), without moving it. */
  get current(): CircuitState {
    return this.state;
  }

  /** Consecutive failures counted. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Closed with no failure counted: nothing to remember about the host. */
  get idle(): boolean {
    return this.state === 'closed' && this.failures === 0;
  }
}
