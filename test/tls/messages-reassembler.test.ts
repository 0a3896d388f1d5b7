// HandshakeReassembler (src/tls/messages/reassembler.ts): messages split across records at every
// offset, several per record, byte-at-a-time, the size bound, and `pending()` for key changes.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HandshakeReassembler, MAX_HANDSHAKE_MESSAGE, parseHandshakeBody } from '../../src/tls/messages/index.js';
import { mulberry32 } from '../helpers/prng.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<string, string>;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const MESSAGES = ['encrypted_extensions', 'certificate', 'certificate_verify', 'server_finished'].map((k) => hex(vectors[k]!));
const FLIGHT = hex(vectors['server_handshake_flight_plaintext']!);

/** Pushes the chunks, draining after each, and returns the raw messages seen (throws on an error result). */
function feed(r: HandshakeReassembler, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    r.push(c);
    for (let m = r.next(); m !== undefined; m = r.next()) {
      if ('error' in m) throw new Error(m.error.reason);
      expect(m.msgType).toBe(m.raw[0]);
      expect(toHex(m.body)).toBe(toHex(m.raw.subarray(4)));
      out.push(toHex(m.raw));
    }
  }
  return out;
}

describe('HandshakeReassembler', () => {
  it('yields every message of a flight pushed as one record, then undefined with nothing pending', () => {
    const r = new HandshakeReassembler();
    expect(feed(r, [FLIGHT])).toEqual(MESSAGES.map(toHex));
    expect(r.next()).toBeUndefined();
    expect(r.pending()).toBe(0);
  });

  it('reassembles the flight split into two records at every offset', () => {
    for (let cut = 0; cut <= FLIGHT.length; cut++) {
      const r = new HandshakeReassembler();
      expect(feed(r, [FLIGHT.subarray(0, cut), FLIGHT.subarray(cut)])).toEqual(MESSAGES.map(toHex));
      expect(r.pending()).toBe(0);
    }
  });

  it('reassembles the flight fed one byte at a time', () => {
    const r = new HandshakeReassembler();
    const chunks = Array.from(FLIGHT, (b) => Uint8Array.of(b));
    expect(feed(r, chunks)).toEqual(MESSAGES.map(toHex));
  });

  it('reassembles random splits of several flights back to back (seeded)', () => {
    const prng = mulberry32(0x8446);
    const stream = Buffer.concat([FLIGHT, FLIGHT, hex('05000000'), hex(vectors['new_session_ticket']!), FLIGHT]);
    const expected = [...MESSAGES, ...MESSAGES, hex('05000000'), hex(vectors['new_session_ticket']!), ...MESSAGES].map(toHex);
    for (let iter = 0; iter < 300; iter++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = Math.min(stream.length - at, prng.int(iter % 2 === 0 ? 40 : 700));
        chunks.push(stream.subarray(at, at + n));
        at += n;
      }
      const r = new HandshakeReassembler();
      expect(feed(r, chunks)).toEqual(expected);
      expect(r.pending()).toBe(0);
    }
  });

  it('reports partial messages through pending() (RFC 8446 §5.1: none may span a key change)', () => {
    const r = new HandshakeReassembler();
    r.push(FLIGHT.subarray(0, 3));
    expect(r.next()).toBeUndefined();
    expect(r.pending()).toBe(3);
    r.push(FLIGHT.subarray(3, MESSAGES[0]!.length + 10));
    expect(r.next()).toMatchObject({ msgType: 8 });
    expect(r.next()).toBeUndefined();
    expect(r.pending()).toBe(10);
  });

  it('yields an empty body for a zero-length message', () => {
    const r = new HandshakeReassembler();
    r.push(hex('05000000'));
    const m = r.next();
    expect(m !== undefined && !('error' in m) && m.body.length).toBe(0);
    expect(m !== undefined && !('error' in m) && parseHandshakeBody(m.msgType, m.body)).toEqual({ ok: true, value: { type: 'end_of_early_data' } });
  });

  it('copies fragments: the caller may reuse its buffer after push', () => {
    const r = new HandshakeReassembler();
    const buf = Uint8Array.from(FLIGHT.subarray(0, MESSAGES[0]!.length));
    r.push(buf);
    buf.fill(0);
    const m = r.next();
    expect(m !== undefined && !('error' in m) && toHex(m.raw)).toBe(toHex(MESSAGES[0]!));
  });

  it('accepts a message of exactly the bound and rejects a declared length above it before it arrives (decode_error, sticky)', () => {
    const ok = new HandshakeReassembler();
    const big = new Uint8Array(4 + MAX_HANDSHAKE_MESSAGE);
    big.set([11, MAX_HANDSHAKE_MESSAGE >> 16, (MAX_HANDSHAKE_MESSAGE >> 8) & 0xff, MAX_HANDSHAKE_MESSAGE & 0xff]);
    ok.push(big);
    const m = ok.next();
    expect(m !== undefined && !('error' in m) && m.body.length).toBe(MAX_HANDSHAKE_MESSAGE);

    const r = new HandshakeReassembler();
    const over = MAX_HANDSHAKE_MESSAGE + 1;
    r.push(Uint8Array.of(11, over >> 16, (over >> 8) & 0xff, over & 0xff));
    expect(r.next()).toMatchObject({ error: { alert: 'decode_error' } });
    r.push(FLIGHT);
    expect(r.next()).toMatchObject({ error: { alert: 'decode_error' } });
  });

  it('takes a smaller bound from its constructor', () => {
    const r = new HandshakeReassembler(16);
    r.push(hex('14000020'));
    expect(r.next()).toMatchObject({ error: { alert: 'decode_error' } });
  });
});
