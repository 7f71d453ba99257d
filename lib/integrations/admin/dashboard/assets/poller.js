// Calls `tick` every `intervalMs` after the previous tick ended, never two at once, and not while
// the tab is hidden (it polls at once when the tab shows again).
export class Poller {
  /**
   * @param {number} intervalMs
   * @param {() => Promise<void>} tick must not reject
   * @param {(hidden: boolean) => void} onVisibility
   */
  constructor(intervalMs, tick, onVisibility) {
    this.intervalMs = intervalMs;
    this.tick = tick;
    this.onVisibility = onVisibility;
    this.running = false;
    this.inFlight = false;
    this.pending = false;
    this.timer = undefined;
    document.addEventListener('visibilitychange', () => {
      if (!this.running) return;
      this.onVisibility(document.hidden);
      if (document.hidden) clearTimeout(this.timer);
      else this.now();
    });
  }

  start() {
    this.running = true;
    this.now();
  }

  stop() {
    this.running = false;
    this.pending = false;
    clearTimeout(this.timer);
  }

  /** Polls now (or right after the tick in flight, whose answer may predate a change). */
  now() {
    clearTimeout(this.timer);
    if (!this.running) return;
    if (document.hidden) {
      this.onVisibility(true);
      return;
    }
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    void this.run();
  }

  async run() {
    this.inFlight = true;
    try {
      await this.tick();
    } finally {
      this.inFlight = false;
      if (this.pending) {
        this.pending = false;
        this.now();
      } else if (this.running && !document.hidden) {
        this.timer = setTimeout(() => this.now(), this.intervalMs);
      }
    }
  }
}
