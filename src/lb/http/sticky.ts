// Sticky sessions by an inserted cookie: an opaque value per backend (HMAC, not the address), the
// reverse lookup from a client's cookie, and the Set-Cookie line (RFC 6265 §4.1).
//
// Design: value = base64url(HMAC-SHA256(secret, backendKey))[:16 bytes], so clients learn nothing of
// the backend's address and cannot forge a value for a backend without the secret. An unknown,
// tampered or stale value (a removed backend) gives undefined: the caller falls back to its algorithm.

import { createHmac } from 'node:crypto';

export interface StickyConfig {
  /** The cookie's name (an RFC 6265 §4.1.1 token). */
  name: string;
  /** Insert the cookie on responses (true), or only read one (false). */
  insert: boolean;
  /** Max-Age in seconds; a session cookie when absent. */
  maxAgeSeconds?: number;
}

/** 16 bytes of HMAC-SHA256: 22 base64url characters, all cookie-octets (RFC 6265 §4.1.1). */
export function stickyValue(backendKey: string, secret: string): string {
  return createHmac('sha256', secret).update(backendKey).digest().subarray(0, 16).toString('base64url');
}

const VALUE = /^[A-Za-z0-9_-]{22}$/;

export class StickyTable {
  private byValue = new Map<string, string>();
  private byKey = new Map<string, string>();

  constructor(private readonly secret: string) {}

  /** The current backend set (call again on reload); values for removed backends stop resolving. */
  set(backendKeys: string[]): void {
    this.byValue.clear();
    this.byKey.clear();
    for (const k of backendKeys) {
      const v = stickyValue(k, this.secret);
      this.byValue.set(v, k);
      this.byKey.set(k, v);
    }
  }

  /** The backend a cookie value names, or undefined (absent, malformed, tampered, unknown). */
  backendFor(cookieValue: string | undefined): string | undefined {
    if (typeof cookieValue !== 'string' || !VALUE.test(cookieValue)) return undefined;
    return this.byValue.get(cookieValue);
  }

  /** The cookie value for a backend. */
  valueFor(backendKey: string): string {
    return this.byKey.get(backendKey) ?? stickyValue(backendKey, this.secret);
  }

  /**
   * RFC 6265 §4.1.1: set-cookie-string = cookie-pair *( ";" SP cookie-av ). Path=/ so every route
   * of the service sees it; HttpOnly (§4.1.2.6) since scripts have no use for it; Secure (§4.1.2.5)
   * when asked (the client came over HTTPS).
   */
  setCookieHeader(cfg: StickyConfig, backendKey: string, opts: { secure?: boolean } = {}): string {
    let s = `${cfg.name}=${this.valueFor(backendKey)}; Path=/; HttpOnly`;
    if (cfg.maxAgeSeconds !== undefined) s += `; Max-Age=${cfg.maxAgeSeconds}`;
    if (opts.secure) s += '; Secure';
    return s;
  }
}
