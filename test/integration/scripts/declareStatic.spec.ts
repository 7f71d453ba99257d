import { waitFor } from '../../support/wait-for';
import { useScriptHarness } from './script-harness';

/*
 * declareStatic-1.lua called directly: which live pods declare a static schedule, from which
 * source and with which timing; another source refuses the write; declarations age out.
 */

const h = useScriptHarness();

const declare = (pod: string, source: string, timing: string, ttlMs = 10_000, name = 'cleanup') =>
  h.scripts
    .declareStatics([{ key: h.ks.staticDeclarations(name), source, timing }], pod, ttlMs)
    .then(([reply]) => reply);

describe('declareStatic', () => {
  it("writes the pod's declaration and returns the other live pods', with their timing", async () => {
    expect(await declare('pod-a', 'Jobs.cleanup', 't1')).toEqual({ written: true, others: [] });
    expect(await declare('pod-b', 'Jobs.cleanup', 't2')).toEqual({
      written: true,
      others: [{ podId: 'pod-a', source: 'Jobs.cleanup', timing: 't1' }],
    });
    // Renewing is the same call: its own declaration is never among the others.
    expect(await declare('pod-a', 'Jobs.cleanup', 't1')).toEqual({
      written: true,
      others: [{ podId: 'pod-b', source: 'Jobs.cleanup', timing: 't2' }],
    });
    const key = h.ks.staticDeclarations('cleanup');
    expect(key).toBe(`${h.prefix}:{pods}:decl:cleanup`);
    expect(await h.client.hget(key, 'pod-b')).toMatch(/^\d{13}\nJobs\.cleanup\nt2$/);
    expect(await h.client.pttl(key)).toBeGreaterThan(9_000);
  });

  it('writes nothing while another source is live, and reports it', async () => {
    await declare('pod-a', 'BillingJobs.cleanup', 't1');
    expect(await declare('pod-b', 'MailJobs.cleanup', 't1')).toEqual({
      written: false,
      others: [{ podId: 'pod-a', source: 'BillingJobs.cleanup', timing: 't1' }],
    });
    expect(await h.client.hkeys(h.ks.staticDeclarations('cleanup'))).toEqual(['pod-a']);
    // Other names are not concerned.
    expect(await declare('pod-b', 'MailJobs.cleanup', 't1', 10_000, 'other')).toEqual({
      written: true,
      others: [],
    });
  });

  it('drops expired declarations, and removes its own with a time to live of 0', async () => {
    await declare('pod-a', 'BillingJobs.cleanup', 't1', 150);
    await declare('pod-c', 'MailJobs.cleanup', 't1', 0); // leaving: writes nothing, even so
    await waitFor(async () => (await declare('pod-b', 'MailJobs.cleanup', 't1')).written, {
      timeoutMs: 5_000,
      message: "pod-a's declaration to age out",
    });
    const key = h.ks.staticDeclarations('cleanup');
    expect(await h.client.hkeys(key)).toEqual(['pod-b']);
    expect(await declare('pod-b', 'MailJobs.cleanup', 't1', 0)).toEqual({
      written: true,
      others: [],
    });
    expect(await h.client.exists(key)).toBe(0);
  });

  it('drops a value it cannot read instead of failing', async () => {
    const key = h.ks.staticDeclarations('cleanup');
    await h.client.hset(key, 'pod-x', 'garbage');
    expect(await declare('pod-a', 'Jobs.cleanup', 't1')).toEqual({ written: true, others: [] });
    expect(await h.client.hkeys(key)).toEqual(['pod-a']);
  });
});
