// Self-encrypted session tickets and HelloRetryRequest cookies (RFC 8446 §4.6.1, §4.2.2): the server
// keeps no per-ticket state; each ticket is sealed with AES-256-GCM under a key derived from the
// server's ticketKey, so only that server process can open it. Opening never throws on peer bytes.

import { Reader, Writer, decode } from './codec.js';
import type { CipherSuite } from './constants.js';
import type { CryptoProvider } from './crypto/provider.js';

export interface TicketContents {
  suite: CipherSuite;
  psk: Uint8Array;
  /** Server `now` (ms) when issued; the age check compares against it. */
  issuedAt: number;
  lifetime: number; // seconds
  ageAdd: number;
  alpn: string;
  serverName: string;
}

const NONCE_LEN = 12;
const TICKET_AEAD: CipherSuite = 0x1302; // AES-256-GCM

function sealKey(crypto: CryptoProvider, ticketKey: Uint8Array, purpose: string): Uint8Array {
  // A purpose-separated key, so a cookie can never be opened as a ticket or vice versa.
  return crypto.hash('sha256').hmac(ticketKey, new TextEncoder().encode(`tunstack ${purpose}`));
}

function seal(crypto: CryptoProvider, ticketKey: Uint8Array, purpose: string, plain: Uint8Array): Uint8Array {
  const nonce = crypto.randomBytes(NONCE_LEN);
  const ct = crypto.aead(TICKET_AEAD, sealKey(crypto, ticketKey, purpose)).seal(nonce, plain, new Uint8Array(0));
  const out = new Uint8Array(NONCE_LEN + ct.length);
  out.set(nonce);
  out.set(ct, NONCE_LEN);
  return out;
}

function open(crypto: CryptoProvider, ticketKey: Uint8Array, purpose: string, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < NONCE_LEN + 16) return undefined;
  const aead = crypto.aead(TICKET_AEAD, sealKey(crypto, ticketKey, purpose));
  return aead.open(sealed.subarray(0, NONCE_LEN), sealed.subarray(NONCE_LEN), new Uint8Array(0));
}

export function sealTicket(crypto: CryptoProvider, ticketKey: Uint8Array, t: TicketContents): Uint8Array {
  const w = new Writer(128);
  w.u16(t.suite).opaque8(t.psk);
  // `now` is a millisecond count from the socket layer's monotonic clock; two u32 halves.
  const issued = Math.max(0, Math.floor(t.issuedAt));
  w.u32(Math.floor(issued / 2 ** 32)).u32(issued >>> 0);
  w.u32(t.lifetime).u32(t.ageAdd);
  w.opaque8(new TextEncoder().encode(t.alpn)).opaque8(new TextEncoder().encode(t.serverName));
  return seal(crypto, ticketKey, 'ticket', w.finish());
}

export function openTicket(crypto: CryptoProvider, ticketKey: Uint8Array, sealed: Uint8Array): TicketContents | undefined {
  const plain = open(crypto, ticketKey, 'ticket', sealed);
  if (plain === undefined) return undefined;
  const parsed = decode(plain, (r: Reader): TicketContents => {
    const suite = r.u16() as CipherSuite;
    const psk = r.vec8().slice();
    const hi = r.u32();
    const lo = r.u32();
    const lifetime = r.u32();
    const ageAdd = r.u32();
    const alpn = new TextDecoder().decode(r.vec8());
    const serverName = new TextDecoder().decode(r.vec8());
    r.expectEnd('ticket');
    return { suite, psk, issuedAt: hi * 2 ** 32 + lo, lifetime, ageAdd, alpn, serverName };
  });
  return parsed.ok ? parsed.value : undefined;
}

/** RFC 8446 §4.2.2: the HRR cookie carries the hash of ClientHello1 and what the server chose. */
export interface CookieContents {
  ch1Hash: Uint8Array;
  suite: CipherSuite;
  group: number;
}

export function sealCookie(crypto: CryptoProvider, ticketKey: Uint8Array, c: CookieContents): Uint8Array {
  const w = new Writer(96);
  w.u16(c.suite).u16(c.group).opaque8(c.ch1Hash);
  return seal(crypto, ticketKey, 'cookie', w.finish());
}

export function openCookie(crypto: CryptoProvider, ticketKey: Uint8Array, sealed: Uint8Array): CookieContents | undefined {
  const plain = open(crypto, ticketKey, 'cookie', sealed);
  if (plain === undefined) return undefined;
  const parsed = decode(plain, (r: Reader): CookieContents => {
    const suite = r.u16() as CipherSuite;
    const group = r.u16();
    const ch1Hash = r.vec8().slice();
    r.expectEnd('cookie');
    return { suite, group, ch1Hash };
  });
  return parsed.ok ? parsed.value : undefined;
}
