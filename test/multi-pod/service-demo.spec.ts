import { startServiceFleet, ServiceFleet } from './service-fleet';
import { waitFor } from '../support/wait-for';

/*
 * `npm run sample` started twice on one Redis (README "Service"): the demo tenant's schedules,
 * created by both instances at start, call the echo target once per fire time, and the runs are
 * split between the two processes.
 */

const ECHO = /echo (\S+) fire (\S+) attempt (\d+) key (\S+) on (\d+)/;

let fleet: ServiceFleet;
beforeAll(async () => {
  fleet = await startServiceFleet();
});
afterAll(() => fleet?.stop());

describe('the service started twice', () => {
  it('calls the echo target once per demo fire time, from either process', async () => {
    const [a, b] = fleet.services;
    const echoes = () =>
      a.output.map((line) => ECHO.exec(line)).filter((m): m is RegExpExecArray => m !== null);
    const pingRuns = () => [...a.ran(), ...b.ran()].filter((r) => r.schedule === 'demo/ping');
    // Four pings echoed, each with its run logged (the run ends after the echo answered).
    const pings = await waitFor(
      () => {
        const fires = new Set(
          echoes()
            .filter((m) => m[1] === 'ping')
            .map((m) => m[2]),
        );
        const logged = new Set(pingRuns().map((r) => r.fireTime));
        const done = fires.size >= 4 && [...fires].every((fire) => logged.has(fire));
        return done ? fires : undefined;
      },
      { timeoutMs: 90_000, message: 'four demo pings, each with its run logged' },
    );

    // The echo target (on the first instance) saw each fire time of each schedule once.
    const calls = echoes().map((m) => `${m[1]}@${m[2]}#${m[3]}`);
    expect(new Set(calls).size).toBe(calls.length);
    expect(echoes().every((m) => m[5] === String(a.port) && m[3] === '1')).toBe(true);
    // Each process logged the runs it made; together, each fire time once.
    const runs = [...a.ran(), ...b.ran()].map((r) => `${r.schedule}@${r.fireTime}#${r.attempt}`);
    expect(new Set(runs).size).toBe(runs.length);
    expect(a.ran().every((r) => r.pid === a.pid)).toBe(true);
    expect(b.ran().every((r) => r.pid === b.pid)).toBe(true);
    // Every ping the echo target logged was run by one of the two, and succeeded.
    for (const fire of pings) {
      expect(
        pingRuns()
          .filter((r) => r.fireTime === fire)
          .map((r) => r.detail),
      ).toEqual([expect.stringMatching(/^http from port \d+, ok$/)]);
    }
    expect([...a.output, ...b.output].join('\n')).not.toMatch(/ERROR/);
  });
});
