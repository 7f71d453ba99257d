import { AdminValidationError } from '../../../lib/integrations/admin';
import {
  REDACTED_HEADER_VALUE,
  redactSchedule,
  refuseRedactedHeaders,
} from '../../../lib/integrations/admin/header-redaction';

describe('redactSchedule', () => {
  const http = {
    handler: 'http',
    payload: { url: 'https://example.com/', headers: { Authorization: 'Bearer s3cret' } },
  };

  it("keeps the header names of an 'http' schedule with the marker as values, on a copy", () => {
    expect(redactSchedule(http)).toEqual({
      handler: 'http',
      payload: { url: 'https://example.com/', headers: { Authorization: REDACTED_HEADER_VALUE } },
    });
    expect(http.payload.headers.Authorization).toBe('Bearer s3cret');
  });

  it('hides headers that are not an object as a whole, and leaves other handlers alone', () => {
    const odd = { handler: 'http', payload: { url: 'u', headers: 'Bearer s3cret' } };
    expect(redactSchedule(odd).payload).toEqual({ url: 'u', headers: REDACTED_HEADER_VALUE });
    const report = { handler: 'report', payload: { headers: { Authorization: 'x' } } };
    expect(redactSchedule(report)).toBe(report);
    const bare = { handler: 'http', payload: { url: 'u' } };
    expect(redactSchedule(bare)).toBe(bare);
  });
});

describe('refuseRedactedHeaders', () => {
  it('refuses the marker as a header value of an http body, naming the header', () => {
    const body = { handler: 'http', payload: { headers: { 'X-Key': REDACTED_HEADER_VALUE } } };
    expect(() => refuseRedactedHeaders(body)).toThrow(AdminValidationError);
    expect(() => refuseRedactedHeaders(body)).toThrow(
      expect.objectContaining({ field: 'payload.headers.X-Key' }),
    );
  });

  it('accepts real values, and the marker in any other handler', () => {
    expect(() =>
      refuseRedactedHeaders({ handler: 'http', payload: { headers: { 'X-Key': 'v' } } }),
    ).not.toThrow();
    expect(() =>
      refuseRedactedHeaders({
        handler: 'report',
        payload: { headers: { a: REDACTED_HEADER_VALUE } },
      }),
    ).not.toThrow();
  });
});
