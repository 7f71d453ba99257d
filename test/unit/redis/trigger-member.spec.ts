import { parseMember, runRecordMember } from '../../../lib/redis/key-space';
import { decodeClaim } from '../../../lib/redis/protocol/runs.codec';

/** One claimDue reply holding one run of `member` with `attempt`, claimed at 1000 (a re-claim: due -1). */
const claimOf = (member: string, attempt: number) =>
  decodeClaim(
    [1000, -1, -1, 0, 0, 0, 1, member, 900, -1, attempt, 7, '1', 't', '', '', 1],
    30_000,
    5_000,
  ).runs[0];

describe('triggered run members', () => {
  it('names the trigger of a triggered run record, and nothing for other members', () => {
    expect(parseMember('t:acme:report:r:n42')).toEqual({
      kind: 't',
      schedule: 't:acme:report',
      tenantId: 'acme',
      id: 'report',
      trigger: 'n42',
    });
    expect(parseMember('c:cleanup:r:n7')).toMatchObject({ schedule: 'c:cleanup', trigger: 'n7' });
    expect(parseMember(runRecordMember('c:cleanup', 1_700_000_000_000)).trigger).toBeUndefined();
    expect(parseMember('t:acme:report').trigger).toBeUndefined();
    expect(parseMember('c:cleanup').trigger).toBeUndefined();
  });

  it("decodes a triggered record's first attempt as a 'trigger' claim, its later ones as 'recover'", () => {
    expect(claimOf('t:acme:report:r:n42', 1)).toMatchObject({
      claim: 'trigger',
      leaseUntilMs: 31_000,
    });
    expect(claimOf('t:acme:report:r:n42', 2).claim).toBe('recover');
    expect(claimOf('t:acme:report', 1).claim).toBe('run');
    expect(claimOf('t:acme:report:r:900', 2).claim).toBe('recover');
  });
});
