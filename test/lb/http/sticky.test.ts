// Sticky sessions: opaque cookie values per backend that map back, reject tampering, and the
// Set-Cookie line the proxy inserts (RFC 6265 §4.1).

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stickyValue, StickyTable } from '../../../src/lb/http/sticky.js';

const keys = ['198.18.1.11:8080', '198.18.1.12:8080', '198.18.1.13:8080'];

describe('sticky cookies', () => {
  it('round_trips_every_backend_through_its_cookie_value', () => {
    const t = new StickyTable('s3cret');
    t.set(keys);
    for (const k of keys) expect(t.backendFor(stickyValue(k, 's3cret'))).toBe(k);
  });

  it('values_are_opaque_hmac_not_the_address', () => {
    const v = stickyValue(keys[0]!, 's3cret');
    expect(v).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(v).not.toContain('198');
    expect(v).toBe(createHmac('sha256', 's3cret').update(keys[0]!).digest().subarray(0, 16).toString('base64url'));
    expect(stickyValue(keys[0]!, 'other')).not.toBe(v);
  });

  it('unknown_tampered_or_stale_values_give_undefined', () => {
    const t = new StickyTable('s3cret');
    t.set(keys);
    const v = stickyValue(keys[1]!, 's3cret');
    const flipped = (v[0] === 'A' ? 'B' : 'A') + v.slice(1);
    for (const bad of [undefined, '', 'x', flipped, v + 'A', v.slice(1), stickyValue(keys[1]!, 'wrong'), '198.18.1.12:8080', ' '.repeat(22)]) {
      expect(t.backendFor(bad)).toBeUndefined();
    }
    // a removed backend's cookie stops resolving (the caller falls back to the algorithm)
    t.set([keys[0]!, keys[2]!]);
    expect(t.backendFor(v)).toBeUndefined();
    expect(t.backendFor(stickyValue(keys[2]!, 's3cret'))).toBe(keys[2]);
  });

  it('writes_the_set_cookie_line', () => {
    const t = new StickyTable('k');
    t.set(keys);
    const v = stickyValue(keys[0]!, 'k');
    expect(t.setCookieHeader({ name: 'TSLB', insert: true }, keys[0]!)).toBe(`TSLB=${v}; Path=/; HttpOnly`);
    expect(t.setCookieHeader({ name: 'TSLB', insert: true, maxAgeSeconds: 3600 }, keys[0]!, { secure: true })).toBe(`TSLB=${v}; Path=/; HttpOnly; Max-Age=3600; Secure`);
  });
});
