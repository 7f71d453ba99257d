import {
  isSchedule,
  parseLast,
  parseParked,
  splitTiming,
  stateOf,
  toDeadLetter,
  toRunRecord,
  toRunRecords,
  toSchedule,
  toStaticSchedule,
} from '../../../lib/engine/stored-schedule.decoder';
import { encodePolicy } from '../../../lib/policy/schedule-policy';
import { CronSchedule } from '../../../lib/time/cron';

const t0 = Date.parse('2026-03-02T10:00:00Z');
const MIN = 60_000;

/** A dynamic schedule's hash as upsertSchedules writes it: only the fields it always sets. */
function hash(fields: Record<string, string> = {}): Record<string, string> {
  return {
    h: 'h:report',
    t: '*/5 * * * *|Europe/Paris|1500',
    nf: String(t0 + 5 * MIN),
    ca: String(t0 - 10 * MIN),
    ...fields,
  };
}

describe('stored schedule decoder', () => {
  describe('isSchedule', () => {
    it('needs a handler and a timing (HGETALL of a missing key gives {})', () => {
      expect(isSchedule(hash())).toBe(true);
      expect(isSchedule({})).toBe(false);
      expect(isSchedule(null)).toBe(false);
      expect(isSchedule({ t: hash().t })).toBe(false);
      expect(isSchedule({ h: 'h:report' })).toBe(false);
    });
  });

  describe('toSchedule', () => {
    it('maps a dynamic schedule hash, every field at its default', () => {
      expect(toSchedule(hash(), 'acme', 'r1', t0)).toEqual({
        tenantId: 'acme',
        id: 'r1',
        handler: 'report',
        payload: undefined,
        cron: '*/5 * * * *',
        resolvedCron: '*/5 * * * *',
        timeZone: 'Europe/Paris',
        jitterMs: 1500,
        enabled: true,
        state: 'active',
        parked: null,
        nextFireAt: new Date(t0 + 5 * MIN),
        createdAt: new Date(t0 - 10 * MIN),
        updatedAt: new Date(t0 - 10 * MIN),
        lastFireAt: null,
        lastStatus: null,
        lastError: null,
        running: false,
        skippedFires: 0,
        tenantPaused: false,
      });
    });

    it("shows a paused tenant's schedule paused, with its own state as `enabled` ('tp')", () => {
      expect(toSchedule(hash({ en: '0', tp: '1' }), 'acme', 'r1', t0)).toMatchObject({
        enabled: true,
        state: 'paused',
        tenantPaused: true,
        nextFireAt: null,
      });
      expect(toSchedule(hash({ en: '0', tp: '0' }), 'acme', 'r1', t0)).toMatchObject({
        enabled: false,
        state: 'paused',
        tenantPaused: true,
      });
    });

    it('parses the payload, and takes ua as updatedAt once set', () => {
      const s = toSchedule(
        hash({ p: '{"to":["a@b.c"],"n":2}', ua: String(t0 - MIN) }),
        'acme',
        'r1',
        t0,
      );
      expect(s?.payload).toEqual({ to: ['a@b.c'], n: 2 });
      expect(s?.updatedAt).toEqual(new Date(t0 - MIN));
      expect(s?.createdAt).toEqual(new Date(t0 - 10 * MIN));
    });

    it('is null for no schedule, and for a static one (handler key c:)', () => {
      expect(toSchedule({}, 'acme', 'r1', t0)).toBeNull();
      expect(toSchedule(hash({ h: 'c:nightly' }), 'acme', 'r1', t0)).toBeNull();
    });
  });

  describe('toStaticSchedule', () => {
    it('names the state of a static schedule hash', () => {
      const h = hash({ h: 'c:nightly', p: '{"ignored":true}' });
      expect(toStaticSchedule(h, 'nightly', t0)).toEqual({ name: 'nightly', ...stateOf(h, t0) });
      expect(toStaticSchedule(h, 'nightly', t0)).not.toHaveProperty('payload');
    });

    it('is null when there is no schedule', () => {
      expect(toStaticSchedule({}, 'nightly', t0)).toBeNull();
      expect(toStaticSchedule(null, 'nightly', t0)).toBeNull();
    });
  });

  describe('stateOf', () => {
    it("is 'paused' with en '0', without a next fire time", () => {
      const s = stateOf(hash({ en: '0' }), t0);
      expect(s).toMatchObject({ enabled: false, state: 'paused', parked: null, nextFireAt: null });
      expect(stateOf(hash({ en: '1' }), t0)).toMatchObject({ enabled: true, state: 'active' });
    });

    it("is 'parked' with pk '<at ms>:<reason>', paused or not; the reason keeps its colons", () => {
      const pk = `${t0 - MIN}:cron-parser: no fire time found: at 02:30`;
      for (const en of ['0', '1']) {
        expect(stateOf(hash({ en, pk }), t0)).toMatchObject({
          state: 'parked',
          parked: { at: new Date(t0 - MIN), reason: 'cron-parser: no fire time found: at 02:30' },
        });
      }
      expect(stateOf(hash({ en: '0', pk }), t0).enabled).toBe(false);
      expect(stateOf(hash({ pk: '' }), t0)).toMatchObject({ state: 'active', parked: null });
    });

    describe('cron and resolvedCron', () => {
      it("shows the cron as written from 'cw' when it was written for this timing", () => {
        const s = stateOf(hash({ t: '17 * * * *|UTC|0', cw: 'H * * * *|17 * * * *' }), t0);
        expect(s.cron).toBe('H * * * *');
        expect(s.resolvedCron).toBe('17 * * * *');
      });

      it("ignores a 'cw' written for another timing (an older version rewrote only 't')", () => {
        const s = stateOf(hash({ t: '23 * * * *|UTC|0', cw: 'H * * * *|17 * * * *' }), t0);
        expect(s.cron).toBe('23 * * * *');
        expect(s.resolvedCron).toBe('23 * * * *');
      });

      it('draws the H of a timing stored before H was resolved, as the pods do', () => {
        const stored = 'H H(0-5) * * *|UTC|0';
        const s = stateOf(hash({ t: stored }), t0);
        expect(s.cron).toBe('H H(0-5) * * *');
        expect(s.resolvedCron).toBe(CronSchedule.of('H H(0-5) * * *', 'UTC', stored).expression);
        expect(s.resolvedCron).not.toContain('H');
      });

      it('shows the stored text when such a timing cannot be decoded', () => {
        const s = stateOf(hash({ t: 'H * * * *|Mars/Olympus|0' }), t0);
        expect(s).toMatchObject({ resolvedCron: 'H * * * *', timeZone: 'Mars/Olympus' });
      });
    });

    it("takes lastStatus and lastFireAt from 'l' ('<outcome>:<fire>:<ended>'), lastError from 'lm'", () => {
      expect(stateOf(hash({ l: `succeeded:${t0 - MIN}:${t0 - 1_000}` }), t0)).toMatchObject({
        lastStatus: 'succeeded',
        lastFireAt: new Date(t0 - MIN),
        lastError: null,
      });
      expect(
        stateOf(hash({ l: `failed:${t0 - MIN}:${t0 - 1_000}`, lm: 'boom: no mail server' }), t0),
      ).toMatchObject({
        lastStatus: 'failed',
        lastFireAt: new Date(t0 - MIN),
        lastError: 'boom: no mail server',
      });
      // A skipped fire time records its fire time, not a status.
      expect(stateOf(hash({ l: `skipped:${t0 - MIN}:${t0}` }), t0)).toMatchObject({
        lastStatus: null,
        lastFireAt: new Date(t0 - MIN),
      });
      expect(stateOf(hash({ l: '', lm: '' }), t0)).toMatchObject({
        lastStatus: null,
        lastFireAt: null,
        lastError: null,
      });
    });

    describe('running (run state r = <fire>:<attempt>:<fence>:<lease>:<prev>)', () => {
      const nf = t0 + 5 * MIN;
      const running = (r: string | undefined, nowMs: number, nd?: string): boolean =>
        stateOf(hash({ ...(r === undefined ? {} : { r }), ...(nd ? { nd } : {}) }), nowMs).running;

      it('is false without a held run: never claimed, or only the exactly-once mark', () => {
        expect(running(undefined, t0)).toBe(false);
        expect(running('', t0)).toBe(false);
        expect(running(String(t0), t0)).toBe(false);
      });

      it('is true for an owned, started run of an earlier fire time', () => {
        expect(running(`${t0}:1:7:${t0 + MIN}:`, t0)).toBe(true);
        expect(running(`${t0}:3:9:${t0 + MIN}:${t0 - MIN}`, t0)).toBe(true);
      });

      it('is false for a retry waiting unowned (fence 0) or a stale guard (attempt 0)', () => {
        expect(running(`${t0}:2:0:${t0 + MIN}:`, t0)).toBe(false);
        expect(running(`${t0}:0:7:${t0 + MIN}:`, t0)).toBe(false);
      });

      it('is false for a reservation of the next fire time before it is due, true once due', () => {
        expect(running(`${nf}:1:7:${nf + MIN}:`, nf - 1)).toBe(false);
        expect(running(`${nf}:1:7:${nf + MIN}:`, nf)).toBe(true);
        // The due time is 'nd' when set (jitter): due at nf + 700.
        expect(running(`${nf}:1:7:${nf + MIN}:`, nf + 699, String(nf + 700))).toBe(false);
        expect(running(`${nf}:1:7:${nf + MIN}:`, nf + 700, String(nf + 700))).toBe(true);
      });
    });

    it("counts skipped fire times from 'sk'", () => {
      expect(stateOf(hash(), t0).skippedFires).toBe(0);
      expect(stateOf(hash({ sk: '42' }), t0).skippedFires).toBe(42);
    });

    it("spreads the schedule's own policy fields from 'po', none when it sets none", () => {
      const policy = {
        retry: { attempts: 3, backoff: 'fixed' as const, delayMs: 250 },
        timeoutMs: 30_000,
        misfire: 'runAll' as const,
        catchUpWindowMs: 3_600_000,
        maxCatchUp: 5,
        overlap: 'bufferOne' as const,
      };
      expect(stateOf(hash({ po: encodePolicy(policy) }), t0)).toMatchObject(policy);
      expect(stateOf(hash({ po: encodePolicy({ overlap: 'allow' }) }), t0)).toMatchObject({
        overlap: 'allow',
      });
      const none = stateOf(hash({ po: '' }), t0);
      for (const key of Object.keys(policy)) expect(none).not.toHaveProperty(key);
    });
  });

  describe('field parsers', () => {
    it('splits a timing at its last two bars; a jitter that is not a number is 0', () => {
      expect(splitTiming('0 9 * * 1-5|America/New_York|60000')).toEqual({
        cron: '0 9 * * 1-5',
        timeZone: 'America/New_York',
        jitterMs: 60_000,
      });
      expect(splitTiming('* * * * *|UTC|')).toEqual({
        cron: '* * * * *',
        timeZone: 'UTC',
        jitterMs: 0,
      });
    });

    it('reads pk and l, empty or absent as none', () => {
      expect(parseParked(undefined)).toBeNull();
      expect(parseParked('')).toBeNull();
      expect(parseParked(`${t0}:why`)).toEqual({ at: new Date(t0), reason: 'why' });
      expect(parseLast('')).toEqual({ status: null, fireMs: null });
      expect(parseLast(`failed:${t0}:${t0 + 5}`)).toEqual({ status: 'failed', fireMs: t0 });
    });
  });

  describe('list entries', () => {
    it('decodes a history entry: sequence, fire, attempt, fence, outcome, start, end, pod, error', () => {
      expect(
        toRunRecord(`7,${t0},2,17,retry,${t0 + 1_000},${t0 + 1_234},host:12:ab,bad, very bad`),
      ).toEqual({
        sequence: 7,
        fireTime: new Date(t0),
        attempt: 2,
        fencingToken: 17,
        status: 'retry',
        startedAt: new Date(t0 + 1_000),
        endedAt: new Date(t0 + 1_234),
        durationMs: 234,
        podId: 'host:12:ab',
        error: 'bad, very bad',
        result: null,
      });
      expect(toRunRecord(`1,${t0},1,3,succeeded,0,${t0 + 5},p,`)).toMatchObject({
        startedAt: null,
        durationMs: null,
        error: null,
        result: null,
      });
    });

    it('decodes the result line (JSON) after the error; an entry without one has result null', () => {
      const head = `3,${t0},1,9,failed,${t0},${t0 + 7},p`;
      expect(toRunRecord(`${head},HTTP 503, again\n{"status":503,"durationMs":7}`)).toMatchObject({
        error: 'HTTP 503, again',
        result: { status: 503, durationMs: 7 },
      });
      expect(toRunRecord(`${head},\n[1,"a\\nb"]`)).toMatchObject({
        error: null,
        result: [1, 'a\nb'],
      });
      // An error with a line break is followed by a result line ('' for none): it stays whole.
      expect(toRunRecord(`${head},line 1\n{"not":"a result"}\n`)).toMatchObject({
        error: 'line 1\n{"not":"a result"}',
        result: null,
      });
      // Written by an earlier version (9 fields, no result line): a last line that is not JSON is
      // the error's.
      expect(toRunRecord(`${head},first line\nsecond line`)).toMatchObject({
        error: 'first line\nsecond line',
        result: null,
      });
    });

    it('orders the slots of a history ring newest first and keeps at most the limit', () => {
      const entry = (seq: number) => `${seq},${t0 + seq},1,${seq},succeeded,1,2,p,`;
      const ring = { '0': entry(4), '1': entry(5), '2': entry(3) };
      expect(toRunRecords(ring).map((r) => r.sequence)).toEqual([5, 4, 3]);
      expect(toRunRecords(ring, 2).map((r) => r.sequence)).toEqual([5, 4]);
    });

    it('decodes a dead letter, its ISO dates as Dates', () => {
      const entry = JSON.stringify({
        tenantId: 'acme',
        scheduleId: 'r1',
        handler: 'report',
        fireTime: new Date(t0).toISOString(),
        attempts: 3,
        error: 'boom',
        failedAt: new Date(t0 + 9_000).toISOString(),
      });
      expect(toDeadLetter(entry)).toEqual({
        tenantId: 'acme',
        scheduleId: 'r1',
        handler: 'report',
        fireTime: new Date(t0),
        attempts: 3,
        error: 'boom',
        failedAt: new Date(t0 + 9_000),
        result: null, // written by an earlier version, without a result
      });
      const carried = { ...JSON.parse(entry), result: { status: 503, durationMs: 12 } };
      expect(toDeadLetter(JSON.stringify(carried)).result).toEqual({ status: 503, durationMs: 12 });
      const statics = toDeadLetter(JSON.stringify({ ...JSON.parse(entry), tenantId: undefined }));
      expect(statics).not.toHaveProperty('tenantId');
    });
  });
});

describe('intervals and one-offs', () => {
  it('shows an interval’s every as given (text kept in cw, a number from the timing), and no cron', () => {
    const timing = `@every:300000:${t0}|UTC|0`;
    const text = stateOf(hash({ t: timing, cw: `5m|@every:300000:${t0}` }), t0);
    expect(text).toMatchObject({ every: '5m', cron: '', resolvedCron: '', state: 'active' });
    expect(text.at).toBeUndefined();
    expect(stateOf(hash({ t: timing }), t0).every).toBe(300_000);
  });

  it('shows a one-off’s at as given, and once finished: state finished, its last status, no next fire', () => {
    const timing = `@at:${t0}|UTC|0`;
    const iso = new Date(t0).toISOString();
    expect(stateOf(hash({ t: timing, cw: `${iso}|@at:${t0}`, nf: String(t0) }), t0).at).toBe(iso);
    const finished = stateOf(
      hash({ t: timing, nf: String(t0), fx: String(t0 + 50), l: `succeeded:${t0}:${t0 + 50}` }),
      t0 + 60,
    );
    expect(finished).toMatchObject({
      at: new Date(t0),
      state: 'finished',
      nextFireAt: null,
      lastStatus: 'succeeded',
      lastFireAt: new Date(t0),
    });
  });
});
