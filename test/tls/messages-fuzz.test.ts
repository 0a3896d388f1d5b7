// Property tests for the handshake codec: truncation at every offset is a decode_error, and 20k seeded
// random or mutated bodies per message type never throw; whatever parses re-serializes byte-exact.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELLO_RETRY_REQUEST_RANDOM, HandshakeType } from '../../src/tls/constants.js';
import {
  parseHandshakeBody,
  serializeClientHelloWithBinders,
  serializeHandshake,
  type ClientHello,
  type HandshakeMessage,
} from '../../src/tls/messages/index.js';
import { mulberry32 } from '../helpers/prng.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<string, string>;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const vec = (k: string): Uint8Array => hex(vectors[k]!);

function parsed(raw: Uint8Array): HandshakeMessage {
  const p = parseHandshakeBody(raw[0]!, raw.subarray(4));
  if (!p.ok) throw new Error(p.error.reason);
  return p.value;
}

/** A ClientHello with two PSK identities (binders 32 and 48 bytes), built from RFC 8448's. */
function pskClientHello(): Uint8Array {
  const ch = parsed(vec('client_hello')) as ClientHello;
  const psk = {
    type: 'pre_shared_key_client' as const,
    identities: [
      { identity: hex('0102030405'), obfuscatedTicketAge: 7 },
      { identity: hex('aa'), obfuscatedTicketAge: 0xffffffff },
    ],
    binders: [new Uint8Array(32), new Uint8Array(48)],
  };
  return serializeClientHelloWithBinders({ ...ch, extensions: [...ch.extensions, { type: 'early_data', maxEarlyDataSize: undefined }, psk] }, () => [new Uint8Array(32).fill(1), new Uint8Array(48).fill(2)]);
}

/** A whole message from its type and body (hex, spaces ignored). */
function msg(t: number, body: string): Uint8Array {
  const b = hex(body);
  return Uint8Array.from([t, b.length >> 16, (b.length >> 8) & 0xff, b.length & 0xff, ...b]);
}

const HRR = msg(HandshakeType.server_hello, '0303' + toHex(HELLO_RETRY_REQUEST_RANDOM) + '00 1301 00 0013 002b 0002 0304 0033 0002 0018 002c 0003 0001 ff');
const TLS12_SH = msg(HandshakeType.server_hello, '0303' + '22'.repeat(32) + '00 c02f 00 000d ff01 0001 00 0000 0000 0010 0000');

/** Seed messages (header included) per handshake type. */
const SEEDS: Record<number, Uint8Array[]> = {
  [HandshakeType.client_hello]: [vec('client_hello'), pskClientHello()],
  [HandshakeType.server_hello]: [vec('server_hello'), HRR, TLS12_SH],
  [HandshakeType.encrypted_extensions]: [vec('encrypted_extensions'), msg(HandshakeType.encrypted_extensions, '0018 0010 0006 0004 03 683220 002a 0000 0000 0000 001c 0002 0040')],
  [HandshakeType.certificate]: [vec('certificate'), msg(HandshakeType.certificate, '02 abcd 000010 000001 aa 0000 000001 bb 0004 0005 0000')],
  [HandshakeType.certificate_request]: [msg(HandshakeType.certificate_request, '01 aa 0010 000d 0004 0002 0804 0032 0004 0002 0403')],
  [HandshakeType.certificate_verify]: [vec('certificate_verify')],
  [HandshakeType.finished]: [vec('server_finished')],
  [HandshakeType.new_session_ticket]: [vec('new_session_ticket')],
  [HandshakeType.key_update]: [msg(HandshakeType.key_update, '01')],
  [HandshakeType.end_of_early_data]: [msg(HandshakeType.end_of_early_data, '')],
};

/** A CH/SH whose body stops right after the legacy fields parses as a legacy hello with no extensions. */
const mayLackExtensions = (t: number): boolean => t === HandshakeType.client_hello || t === HandshakeType.server_hello;

describe('seed messages', () => {
  it('all parse and round-trip byte-exact', () => {
    for (const [t, seeds] of Object.entries(SEEDS)) {
      for (const raw of seeds) {
        expect(raw[0], `type ${t}`).toBe(Number(t));
        expect((raw[1]! << 16) | (raw[2]! << 8) | raw[3]!).toBe(raw.length - 4);
        expect(toHex(serializeHandshake(parsed(raw)))).toBe(toHex(raw));
      }
    }
  });
});

describe('truncation', () => {
  it('every strict prefix of every seed body is a decode_error (never a throw)', () => {
    for (const seeds of Object.values(SEEDS)) {
      for (const raw of seeds) {
        const t = raw[0]!;
        const body = raw.subarray(4);
        for (let n = 0; n < body.length; n++) {
          const prefix = body.subarray(0, n);
          const opts = t === HandshakeType.finished ? { hashLen: body.length } : {};
          const p = parseHandshakeBody(t, prefix, opts);
          if (p.ok) {
            // the one accepted cut: a legacy hello ending after its compression field(s)
            expect(mayLackExtensions(t), `type ${t} prefix ${n}`).toBe(true);
            expect(p.value.type !== 'client_hello' && p.value.type !== 'server_hello' ? 'x' : p.value.extensions.length).toBe(0);
            expect(toHex(serializeHandshake(p.value).subarray(4))).toBe(toHex(prefix) + '0000');
          } else {
            expect(p.error.alert, `type ${t} prefix ${n}`).toBe('decode_error');
          }
        }
      }
    }
  });
});

/**
 * Parses one body; on success checks it re-serializes to exactly the input (or the input plus an
 * empty extensions block, for a legacy hello) and that re-parsing is stable. Returns the outcome.
 */
function check(t: number, body: Uint8Array): 'ok' | 'decode_error' | 'illegal_parameter' | 'unexpected_message' {
  // Finished is checked against SHA-256's length, as the state machine does once the suite is known.
  const opts = t === HandshakeType.finished ? { hashLen: 32 } : {};
  const p = parseHandshakeBody(t, body, opts);
  if (!p.ok) return p.error.alert;
  const out = serializeHandshake(p.value).subarray(4);
  const exact = Buffer.from(out).equals(Buffer.from(body));
  const legacy = mayLackExtensions(t) && out.length === body.length + 2 && Buffer.from(out.subarray(0, body.length)).equals(Buffer.from(body));
  if (!exact && !legacy) throw new Error(`type ${t}: ${toHex(body)} re-serialized as ${toHex(out)}`);
  const again = parseHandshakeBody(t, out, opts);
  if (!again.ok || !Buffer.from(serializeHandshake(again.value).subarray(4)).equals(Buffer.from(out))) throw new Error(`type ${t}: unstable re-parse of ${toHex(out)}`);
  return 'ok';
}

describe('fuzz: 20k seeded random and mutated bodies per message type never throw', () => {
  for (const [name, t] of Object.entries(HandshakeType)) {
    if (SEEDS[t] === undefined) continue;
    it(`${name}`, () => {
      const prng = mulberry32(0x1301 + t);
      const seeds = SEEDS[t]!.map((s) => s.subarray(4));
      const tally: Record<string, number> = {};
      for (let i = 0; i < 20_000; i++) {
        let body: Uint8Array;
        const kind = i % 4;
        if (kind === 0) body = prng.bytes(prng.int(96));
        else {
          const seed = seeds[prng.int(seeds.length)]!;
          body = prng.mutate(seed);
          if (kind === 3) body = prng.mutate(body); // deeper edits
        }
        const outcome = check(t, body);
        tally[outcome] = (tally[outcome] ?? 0) + 1;
      }
      // the mutated seeds must reach past the first length check sometimes (ok and rejections both occur)
      expect(Object.values(tally).reduce((a, b) => a + b, 0)).toBe(20_000);
      expect(tally['unexpected_message']).toBeUndefined();
      expect(tally['decode_error'] ?? 0).toBeGreaterThan(0);
      expect(tally['ok'] ?? 0).toBeGreaterThan(0);
    });
  }

  it('random message types and bodies never throw', () => {
    const prng = mulberry32(8446);
    for (let i = 0; i < 20_000; i++) {
      const t = prng.int(256);
      const seeds = SEEDS[t];
      const body = seeds !== undefined && i % 2 === 0 ? prng.mutate(seeds[0]!.subarray(4)) : prng.bytes(prng.int(64));
      check(t, body);
    }
  });
});
