/**
 * The abort side of one run. Its AbortSignal is created only when the handler reads
 * `ctx.signal` (creating one per run costs more than a no-op handler), and aborting settles the
 * run at once through `onAbort`, whether or not the handler listens.
 */
export class RunAbort {
  private controller: AbortController | undefined;
  private reasonValue: unknown;
  private done = false;
  private listener: ((reason: unknown) => void) | undefined;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.reasonValue;
  }

  /** The run's signal (aborted already if the run was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.reasonValue);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reasonValue = reason;
    this.controller?.abort(reason);
    this.listener?.(reason);
  }

  /** Called once with the reason when the run is aborted (at once if it was already). */
  onAbort(listener: (reason: unknown) => void): void {
    this.listener = listener;
    if (this.done) listener(this.reasonValue);
  }
}
