// Preloaded into a pod process (node -r) to shift its wall clock by SKEW_MS, as a badly
// synchronised machine would be. Timers and performance.now() are unaffected, as on such a machine.
const skew = Number(process.env.SKEW_MS || 0);
if (skew !== 0) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
