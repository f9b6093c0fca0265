import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/util/redact-url.ts';

describe('redactUrl', () => {
  it('hides the whole user info, user name included', () => {
    expect(redactUrl('postgres://sync_user:s3cret@db.internal:5432/threetone')).toBe('postgres://***:***@db.internal:5432/threetone');
    expect(redactUrl('redis://:pw@cache:6379')).toBe('redis://:***@cache:6379');
  });

  it('leaves a URL without user info as it is, and never echoes one it cannot parse', () => {
    expect(redactUrl('https://api.threetone.in/v1')).toBe('https://api.threetone.in/v1');
    expect(redactUrl('not a url with secret')).toBe('<unparsable url>');
  });
});
