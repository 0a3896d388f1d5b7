// Handshake message codec (src/tls/messages/): RFC 8448 §3 and real OpenSSL 3 messages round-trip
// byte-exact, strictness per message (decode_error / illegal_parameter / unexpected_message), PSK
// binder truncation checked against a real OpenSSL binder, and trace descriptions.

import { readFileSync } from 'node:fs';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha384 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CipherSuite, HELLO_RETRY_REQUEST_RANDOM, HandshakeType, NamedGroup, TLS13 } from '../../src/tls/constants.js';
import { findExtension } from '../../src/tls/extensions.js';
import {
  describeHandshake,
  parseHandshakeBody,
  serializeClientHelloWithBinders,
  serializeHandshake,
  type ClientHello,
  type HandshakeMessage,
  type ServerHello,
} from '../../src/tls/messages/index.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const vec = (key: string): Uint8Array => hex(vectors[key] as string);

/**
 * Two ClientHellos captured from `openssl s_client` (OpenSSL 3.0) on 127.0.0.1 against `openssl s_server`:
 * OPENSSL_CH offers TLS 1.3 and 1.2 (`-servername example.com -alpn h2,http/1.1`); OPENSSL_RESUME_CH
 * resumes a TLS_AES_256_GCM_SHA384 session with `-tls1_3 -sess_in`, so it carries pre_shared_key, and
 * OPENSSL_RESUME_PSK is that session's "Resumption PSK" from `openssl sess_id -text`.
 */
const OPENSSL_CH = hex(
  '010001460303d29c279f6b55673c18e87939c7fc3f91f2455d744f0169c7c0bae6c2db53bdf220635e7383a9f65e8e966f8b7a3fa87500bd0eecbefa507e9e75377427d0300e34003e130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000bf00000010000e00000b6578616d706c652e636f6d000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009080304030303020301002d00020101003300260024001d0020f47fcb5c1e5ecaaf5afa77b58246e28eca61166af2f5797ff924c6567433e02d',
);
const OPENSSL_RESUME_CH = hex(
  '0100021d03031b2f9ee3241562264df70f30ebdd9d6771fe1e7bf6fc4c23a2d714226c74730d20c349dbef2dc2ab5cd2c3509007b8dfaaf6436b3154991a6c2f5683440dba168b000813021303130100ff010001cc00000010000e00000b6578616d706c652e636f6d000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020f273e16b42df160c2606e3fc7500e3282c629458ff25127e71f19c849998da0a0029011b00e600e0447b9722e11984ddae1c89708f87e10740f902367f4d7507b828f3024ab8dfe338b9d88b5354ebfade3969b5c663a8c7b88aa873b6efc282afeb34a4b0df76ddaca06654a4fca4b91da28c543b252236f46b99c266b184a412d20e5e170dab2256966f3876f47c4553671909b67f351129932d94bddd3571be915af047eaf849baa9322f3c855f2b0fba089401533352e22cafc1c7203f6455db71e7488a5ef7ae6de67caefd987f37ef0d60537fd4c18ea81f2740adb4498ac72d67ccd4321a1d1666b9966babd5ae46762fd3c88490a4a65ad5fedc3d0bc65a36659b98ea060897fa92003130807d812cc9e6b6953b70959fcff5e7ff69225c34c4dce4416730640cbd931d1ba384666d67ea768a1fbba3998bb8cedf',
);
const OPENSSL_RESUME_PSK = hex('543CA86AC8FD15685B53F6C6FF628179DBF8FFD6FD5CDCD4FE005A68FD166EB2A8E4F89D78BCA0754EA1E675A7745513');

/** Parses a whole message (header included) and checks the header's length. */
function parseRaw(raw: Uint8Array, opts?: { hashLen?: number }): ReturnType<typeof parseHandshakeBody> {
  const len = (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!;
  expect(len).toBe(raw.length - 4);
  return parseHandshakeBody(raw[0]!, raw.subarray(4), opts);
}

function parseOk(raw: Uint8Array, opts?: { hashLen?: number }): HandshakeMessage {
  const p = parseRaw(raw, opts);
  if (!p.ok) throw new Error(`expected success, got ${p.error.alert}: ${p.error.reason}`);
  return p.value;
}

function alertOf(msgType: number, body: Uint8Array, opts?: { hashLen?: number }): string {
  const p = parseHandshakeBody(msgType, body, opts);
  return p.ok ? 'ok' : p.error.alert;
}

function expectRoundTrip(raw: Uint8Array, opts?: { hashLen?: number }): HandshakeMessage {
  const msg = parseOk(raw, opts);
  expect(toHex(serializeHandshake(msg))).toBe(toHex(raw));
  return msg;
}

/** A ClientHello body built field by field (hex strings), for malformed variants. */
function chBody(parts: { sid?: string; suites?: string; comp?: string; exts?: string }): Uint8Array {
  return hex('0303' + '11'.repeat(32) + (parts.sid ?? '00') + (parts.suites ?? '0002 1301') + (parts.comp ?? '0100') + (parts.exts ?? '0007 002b 0003 020304'));
}

const rfcCh = (): ClientHello => parseOk(vec('client_hello')) as ClientHello;
const rfcSh = (): ServerHello => parseOk(vec('server_hello')) as ServerHello;

describe('RFC 8448 §3 messages', () => {
  it('round-trips ClientHello byte-exact and exposes its fields', () => {
    const ch = expectRoundTrip(vec('client_hello')) as ClientHello;
    expect(ch.random).toEqual(vec('client_random'));
    expect(ch.cipherSuites).toEqual([CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384]);
    expect(findExtension(ch.extensions, 'server_name')?.hostName).toBe('server');
    expect(findExtension(ch.extensions, 'key_share_client')?.shares).toEqual([{ group: NamedGroup.x25519, keyExchange: vec('client_x25519_public_key') }]);
    expect(findExtension(ch.extensions, 'supported_versions_client')?.versions).toEqual([TLS13]);
    expect(findExtension(ch.extensions, 'record_size_limit')?.limit).toBe(0x4001);
    expect(ch.truncatedLength).toBeUndefined();
  });

  it('round-trips ServerHello byte-exact and exposes its fields', () => {
    const sh = expectRoundTrip(vec('server_hello')) as ServerHello;
    expect(sh.isHelloRetryRequest).toBe(false);
    expect(sh.random).toEqual(vec('server_random'));
    expect(sh.cipherSuite).toBe(CipherSuite.TLS_AES_128_GCM_SHA256);
    expect(findExtension(sh.extensions, 'key_share_server')?.share).toEqual({ group: NamedGroup.x25519, keyExchange: vec('server_x25519_public_key') });
    expect(findExtension(sh.extensions, 'supported_versions_server')?.version).toBe(TLS13);
  });

  it('round-trips the server flight: EncryptedExtensions, Certificate, CertificateVerify, Finished', () => {
    const ee = expectRoundTrip(vec('encrypted_extensions'));
    expect(ee.type === 'encrypted_extensions' && ee.extensions.map((e) => e.type)).toEqual(['supported_groups', 'record_size_limit', 'server_name']);
    const cert = expectRoundTrip(vec('certificate'));
    expect(cert.type === 'certificate' && cert.entries.map((e) => toHex(e.data))).toEqual([toHex(vec('server_certificate_der'))]);
    const cv = expectRoundTrip(vec('certificate_verify'));
    expect(cv.type === 'certificate_verify' && cv.scheme).toBe(0x0804);
    const fin = expectRoundTrip(vec('server_finished'), { hashLen: 32 });
    expect(fin.type === 'finished' && fin.verifyData).toEqual(vec('server_finished_verify_data'));
    const concat = Buffer.concat([vec('encrypted_extensions'), vec('certificate'), vec('certificate_verify'), vec('server_finished')]);
    expect(toHex(concat)).toBe(toHex(vec('server_handshake_flight_plaintext')));
  });

  it('round-trips the client Finished and the NewSessionTicket (early_data max 1024)', () => {
    expectRoundTrip(vec('client_finished'), { hashLen: 32 });
    const nst = expectRoundTrip(vec('new_session_ticket'));
    expect(nst.type === 'new_session_ticket' && nst.lifetime).toBe(30);
    expect(nst.type === 'new_session_ticket' && findExtension(nst.extensions, 'early_data')?.maxEarlyDataSize).toBe(1024);
    expect(nst.type === 'new_session_ticket' && nst.nonce).toEqual(vec('ticket_nonce'));
  });

  it('rejects trailing bytes after every message (decode_error)', () => {
    for (const key of ['client_hello', 'server_hello', 'encrypted_extensions', 'certificate', 'certificate_verify', 'new_session_ticket']) {
      const raw = vec(key);
      const body = Buffer.concat([raw.subarray(4), Buffer.from([0])]);
      expect(alertOf(raw[0]!, body), key).toBe('decode_error');
    }
    expect(alertOf(HandshakeType.finished, Buffer.concat([vec('server_finished').subarray(4), Buffer.from([0])]), { hashLen: 32 })).toBe('decode_error');
  });
});

describe('OpenSSL 3 ClientHellos', () => {
  it('round-trips a TLS 1.3 + 1.2 ClientHello byte-exact', () => {
    const ch = expectRoundTrip(OPENSSL_CH) as ClientHello;
    expect(ch.legacySessionId.length).toBe(32);
    expect(ch.cipherSuites.slice(0, 3)).toEqual([0x1302, 0x1303, 0x1301]);
    expect(findExtension(ch.extensions, 'server_name')?.hostName).toBe('example.com');
    expect(findExtension(ch.extensions, 'alpn')?.protocols).toEqual(['h2', 'http/1.1']);
    expect(findExtension(ch.extensions, 'supported_versions_client')?.versions).toEqual([0x0304, 0x0303, 0x0302, 0x0301]);
    expect(findExtension(ch.extensions, 'psk_key_exchange_modes')?.modes).toEqual([1]);
    expect(ch.extensions.filter((e) => e.type === 'raw').map((e) => e.type === 'raw' && e.code)).toEqual([11, 35, 22, 23]);
  });

  it('round-trips a resumption ClientHello and sets truncatedLength before the binders', () => {
    const ch = expectRoundTrip(OPENSSL_RESUME_CH) as ClientHello;
    const psk = findExtension(ch.extensions, 'pre_shared_key_client');
    expect(psk?.identities).toHaveLength(1);
    expect(psk?.binders.map((b) => b.length)).toEqual([48]);
    // binders list = u16 length (0x0031) + u8 length (0x30) + 48 bytes, at the very end
    expect(ch.truncatedLength).toBe(OPENSSL_RESUME_CH.length - 51);
    expect(toHex(OPENSSL_RESUME_CH.subarray(ch.truncatedLength!, ch.truncatedLength! + 3))).toBe('003130');
  });

  it("the truncated prefix is what OpenSSL's binder covers (RFC 8446 §4.2.11.2, SHA-384)", () => {
    const ch = parseOk(OPENSSL_RESUME_CH) as ClientHello;
    const truncated = OPENSSL_RESUME_CH.subarray(0, ch.truncatedLength);
    expect(toHex(resumptionBinder(OPENSSL_RESUME_PSK, truncated))).toBe(toHex(findExtension(ch.extensions, 'pre_shared_key_client')!.binders[0]!));
  });

  it('serializeClientHelloWithBinders calls back with the truncated prefix and patches the binders in', () => {
    const parsed = parseOk(OPENSSL_RESUME_CH) as ClientHello;
    const psk = findExtension(parsed.extensions, 'pre_shared_key_client')!;
    const placeholder: ClientHello = {
      ...parsed,
      extensions: parsed.extensions.map((e) => (e.type === 'pre_shared_key_client' ? { ...e, binders: [new Uint8Array(48)] } : e)),
    };
    let seen: Uint8Array | undefined;
    const out = serializeClientHelloWithBinders(placeholder, (truncated) => {
      seen = truncated.slice();
      return [resumptionBinder(OPENSSL_RESUME_PSK, truncated)];
    });
    expect(toHex(seen!)).toBe(toHex(OPENSSL_RESUME_CH.subarray(0, parsed.truncatedLength)));
    expect(toHex(out)).toBe(toHex(OPENSSL_RESUME_CH));
    expect(psk.binders[0]!.length).toBe(48);
  });
});

/** RFC 8446 §7.1, §4.2.11.2: binder = HMAC(finished_key(Derive-Secret(Early Secret, "res binder", "")), Hash(truncated CH)). */
function resumptionBinder(psk: Uint8Array, truncated: Uint8Array): Uint8Array {
  const H = sha384;
  const L = 48;
  const label = (secret: Uint8Array, name: string, ctx: Uint8Array, len: number): Uint8Array => {
    const full = Buffer.from(`tls13 ${name}`, 'latin1');
    const info = Buffer.concat([Buffer.from([len >> 8, len & 0xff, full.length]), full, Buffer.from([ctx.length]), ctx]);
    return expand(H, secret, info, len);
  };
  const early = extract(H, psk, new Uint8Array(L));
  const binderKey = label(early, 'res binder', H(new Uint8Array(0)), L);
  const finishedKey = label(binderKey, 'finished', new Uint8Array(0), L);
  return hmac(H, finishedKey, H(truncated));
}

describe('serializeClientHelloWithBinders', () => {
  const withPsk = (binders: Uint8Array[], pskLast = true): ClientHello => {
    const ch = rfcCh();
    const psk = { type: 'pre_shared_key_client' as const, identities: binders.map((_, i) => ({ identity: Uint8Array.of(i + 1), obfuscatedTicketAge: i })), binders };
    return { ...ch, extensions: pskLast ? [...ch.extensions, psk] : [psk, ...ch.extensions] };
  };

  it('patches several binders of different lengths and the result re-parses with a matching truncatedLength', () => {
    const ch = withPsk([new Uint8Array(32), new Uint8Array(48)]);
    let truncated: Uint8Array | undefined;
    const out = serializeClientHelloWithBinders(ch, (t) => {
      truncated = t.slice();
      return [new Uint8Array(32).fill(0xa1), new Uint8Array(48).fill(0xb2)];
    });
    const re = parseOk(out) as ClientHello;
    expect(re.truncatedLength).toBe(truncated!.length);
    expect(toHex(out.subarray(0, re.truncatedLength))).toBe(toHex(truncated!));
    // manual computation: binders list = 2 + (1 + 32) + (1 + 48)
    expect(re.truncatedLength).toBe(out.length - (2 + 33 + 49));
    expect(findExtension(re.extensions, 'pre_shared_key_client')?.binders).toEqual([new Uint8Array(32).fill(0xa1), new Uint8Array(48).fill(0xb2)]);
  });

  it('refuses binders of the wrong count or length, and pre_shared_key that is not last (RangeError)', () => {
    expect(() => serializeClientHelloWithBinders(withPsk([new Uint8Array(32)]), () => [])).toThrow(RangeError);
    expect(() => serializeClientHelloWithBinders(withPsk([new Uint8Array(32)]), () => [new Uint8Array(48)])).toThrow(RangeError);
    expect(() => serializeClientHelloWithBinders(withPsk([new Uint8Array(32)], false), () => [new Uint8Array(32)])).toThrow(RangeError);
    expect(() => serializeClientHelloWithBinders(rfcCh(), () => [])).toThrow(RangeError);
  });
});

describe('ClientHello strictness (RFC 8446 §4.1.2)', () => {
  const CH = HandshakeType.client_hello;

  it('accepts the minimal well-formed body', () => {
    expect(alertOf(CH, chBody({}))).toBe('ok');
  });

  it('rejects a legacy_session_id over 32 bytes (decode_error)', () => {
    expect(alertOf(CH, chBody({ sid: '20' + '00'.repeat(32) }))).toBe('ok');
    expect(alertOf(CH, chBody({ sid: '21' + '00'.repeat(33) }))).toBe('decode_error');
  });

  it('rejects empty or odd-length cipher_suites (decode_error)', () => {
    expect(alertOf(CH, chBody({ suites: '0000' }))).toBe('decode_error');
    expect(alertOf(CH, chBody({ suites: '0003 130113' }))).toBe('decode_error');
  });

  it('rejects an empty compression list (decode_error)', () => {
    expect(alertOf(CH, chBody({ comp: '00' }))).toBe('decode_error');
  });

  it('rejects compression other than exactly [null] when TLS 1.3 is offered (illegal_parameter)', () => {
    expect(alertOf(CH, chBody({ comp: '0201 00' }))).toBe('illegal_parameter');
    expect(alertOf(CH, chBody({ comp: '0101' }))).toBe('illegal_parameter');
  });

  it('leaves legacy compression of a ClientHello without TLS 1.3 to the state machine (protocol_version)', () => {
    expect(alertOf(CH, chBody({ comp: '0201 00', exts: '0007 002b 0003 020303' }))).toBe('ok');
  });

  it('reads a ClientHello without an extensions block as a legacy hello with no extensions', () => {
    const p = parseHandshakeBody(CH, chBody({ exts: '' }));
    expect(p.ok && p.value.type === 'client_hello' && p.value.extensions).toEqual([]);
  });

  it('rejects duplicate extensions and pre_shared_key that is not last (illegal_parameter)', () => {
    expect(alertOf(CH, chBody({ exts: '000c 000a 0004 0002 001d 000a 0000' }))).toBe('illegal_parameter');
    const psk = '0029 0030 000b 0005 0102030405 00000000 0021 20' + '00'.repeat(32);
    expect(alertOf(CH, chBody({ exts: '0038' + psk + '0017 0000' }))).toBe('illegal_parameter');
    expect(alertOf(CH, chBody({ exts: '0038 0017 0000' + psk }))).toBe('ok');
  });

  it('serializeHandshake refuses a random that is not 32 bytes (RangeError)', () => {
    expect(() => serializeHandshake({ ...rfcCh(), random: new Uint8Array(31) })).toThrow(RangeError);
  });
});

describe('ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4)', () => {
  const SH = HandshakeType.server_hello;
  const shBody = (random: string, parts: { sid?: string; comp?: string; exts?: string } = {}): Uint8Array =>
    hex('0303' + random + (parts.sid ?? '00') + '1301' + (parts.comp ?? '00') + (parts.exts ?? '0006 002b 0002 0304'));
  const HRR = toHex(HELLO_RETRY_REQUEST_RANDOM);

  it('rejects legacy_compression_method other than 0 (illegal_parameter)', () => {
    expect(alertOf(SH, shBody('22'.repeat(32), { comp: '01' }))).toBe('illegal_parameter');
  });

  it('rejects a legacy_session_id_echo over 32 bytes (decode_error)', () => {
    expect(alertOf(SH, shBody('22'.repeat(32), { sid: '21' + '00'.repeat(33) }))).toBe('decode_error');
  });

  it('flags a HelloRetryRequest by its random and decodes key_share as the selected group', () => {
    const body = shBody(HRR, { exts: '0014 002b 0002 0304 0033 0002 0018 002c 0004 0002 abcd' });
    const p = parseHandshakeBody(SH, body);
    expect(p.ok).toBe(true);
    const hrr = (p.ok ? p.value : undefined) as ServerHello;
    expect(hrr.isHelloRetryRequest).toBe(true);
    expect(findExtension(hrr.extensions, 'key_share_hrr')?.group).toBe(NamedGroup.secp384r1);
    expect(findExtension(hrr.extensions, 'cookie')?.cookie).toEqual(hex('abcd'));
    expect(toHex(serializeHandshake(hrr).subarray(4))).toBe(toHex(body));
    expect(describeHandshake(hrr)).toEqual({ message: 'HelloRetryRequest', detail: 'group=secp384r1 cookie=2B' });
  });

  it('rejects a server key share entry inside a HelloRetryRequest (decode_error: trailing bytes)', () => {
    expect(alertOf(SH, shBody(HRR, { exts: '0030 002b 0002 0304 0033 0024 001d 0020' + '11'.repeat(32) }))).toBe('decode_error');
  });

  it('rejects pre_shared_key in a HelloRetryRequest (illegal_parameter)', () => {
    expect(alertOf(SH, shBody(HRR, { exts: '000c 002b 0002 0304 0029 0002 0000' }))).toBe('illegal_parameter');
  });

  it('keeps a TLS 1.2 ServerHello (no supported_versions) raw, so the client can answer protocol_version', () => {
    const body = shBody('22'.repeat(32), { exts: '000d ff01 0001 00 0000 0000 0010 0000' });
    const p = parseHandshakeBody(SH, body);
    expect(p.ok && p.value.type === 'server_hello' && p.value.extensions.map((e) => e.type)).toEqual(['raw', 'raw', 'raw']);
    expect(p.ok && toHex(serializeHandshake(p.value).subarray(4))).toBe(toHex(body));
    expect(alertOf(SH, shBody('22'.repeat(32), { exts: '' }))).toBe('ok');
  });

  it('still rejects duplicates in a TLS 1.2 ServerHello (illegal_parameter)', () => {
    expect(alertOf(SH, shBody('22'.repeat(32), { exts: '0008 ff01 0000 ff01 0000' }))).toBe('illegal_parameter');
  });

  it('serializeHandshake refuses isHelloRetryRequest that disagrees with the random (RangeError)', () => {
    expect(() => serializeHandshake({ ...rfcSh(), isHelloRetryRequest: true })).toThrow(RangeError);
  });
});

describe('other messages', () => {
  it('Finished: verify_data must have the hash length when it is known (decode_error)', () => {
    const body = vec('server_finished').subarray(4);
    expect(alertOf(HandshakeType.finished, body, { hashLen: 32 })).toBe('ok');
    expect(alertOf(HandshakeType.finished, body, { hashLen: 48 })).toBe('decode_error');
    expect(alertOf(HandshakeType.finished, body)).toBe('ok');
  });

  it('KeyUpdate: 0 and 1 decode, 2 and above are illegal_parameter, length ≠ 1 is decode_error (RFC 8446 §4.6.3)', () => {
    expect(parseHandshakeBody(HandshakeType.key_update, hex('00'))).toEqual({ ok: true, value: { type: 'key_update', updateRequested: false } });
    expect(parseHandshakeBody(HandshakeType.key_update, hex('01'))).toEqual({ ok: true, value: { type: 'key_update', updateRequested: true } });
    expect(alertOf(HandshakeType.key_update, hex('02'))).toBe('illegal_parameter');
    expect(alertOf(HandshakeType.key_update, hex('ff'))).toBe('illegal_parameter');
    expect(alertOf(HandshakeType.key_update, hex(''))).toBe('decode_error');
    expect(alertOf(HandshakeType.key_update, hex('0100'))).toBe('decode_error');
    expect(toHex(serializeHandshake({ type: 'key_update', updateRequested: true }))).toBe('1800000101');
  });

  it('EndOfEarlyData: an empty body only', () => {
    expect(alertOf(HandshakeType.end_of_early_data, hex(''))).toBe('ok');
    expect(alertOf(HandshakeType.end_of_early_data, hex('00'))).toBe('decode_error');
    expect(toHex(serializeHandshake({ type: 'end_of_early_data' }))).toBe('05000000');
  });

  it('NewSessionTicket: an empty ticket is a decode_error; early_data elsewhere than NST is illegal in CT', () => {
    expect(alertOf(HandshakeType.new_session_ticket, hex('00000e10 00000001 00 0000 0000'))).toBe('decode_error');
    expect(alertOf(HandshakeType.new_session_ticket, hex('00000e10 00000001 00 0001 aa 0000'))).toBe('ok');
    expect(alertOf(HandshakeType.new_session_ticket, hex('00000e10 00000001 00 0001 aa 0004 000a 0000'))).toBe('illegal_parameter');
  });

  it('Certificate: empty cert_data is a decode_error; an empty chain decodes (the state machine decides)', () => {
    expect(alertOf(HandshakeType.certificate, hex('00 000005 000000 0000'))).toBe('decode_error');
    expect(alertOf(HandshakeType.certificate, hex('00 000000'))).toBe('ok');
    expect(alertOf(HandshakeType.certificate, hex('00 00000a 000001 aa 0004 0005 0000'))).toBe('ok');
    expect(alertOf(HandshakeType.certificate, hex('00 00000a 000001 aa 0004 002b 0000'))).toBe('illegal_parameter');
  });

  it('CertificateRequest: round-trips; no extensions at all is a decode_error', () => {
    const raw = hex('0d 00000b 00 0008 000d 0004 0002 0804');
    const cr = expectRoundTrip(raw);
    expect(cr.type === 'certificate_request' && findExtension(cr.extensions, 'signature_algorithms')?.schemes).toEqual([0x0804]);
    expect(alertOf(HandshakeType.certificate_request, hex('00 0000'))).toBe('decode_error');
    expect(describeHandshake(cr)).toEqual({ message: 'CertificateRequest', detail: 'sigalgs=[rsa_pss_rsae_sha256]' });
  });

  it('CertificateVerify: a cut signature is a decode_error', () => {
    expect(alertOf(HandshakeType.certificate_verify, hex('0804 0003 aabb'))).toBe('decode_error');
    expect(alertOf(HandshakeType.certificate_verify, hex('0804'))).toBe('decode_error');
  });

  it('types that are not TLS 1.3 handshake messages are unexpected_message', () => {
    for (const t of [0, 3, 6, 12, 14, 16, 21, 22, 254, 255]) expect(alertOf(t, hex('00')), `type ${t}`).toBe('unexpected_message');
  });
});

describe('describeHandshake', () => {
  it('summarises a ClientHello by suites, groups, shares, SNI, ALPN and PSK count', () => {
    const ch = parseOk(OPENSSL_RESUME_CH);
    expect(describeHandshake(ch)).toEqual({
      message: 'ClientHello',
      detail: 'suites=[TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256,0x00ff] groups=[x25519,secp256r1,x448,secp521r1,secp384r1,0x0100,0x0101,0x0102,0x0103,0x0104] shares=[x25519] sni=example.com alpn=[h2,http/1.1] psk=1',
    });
  });

  it('summarises the server messages', () => {
    expect(describeHandshake(rfcSh())).toEqual({ message: 'ServerHello', detail: 'TLS_AES_128_GCM_SHA256 key_share=x25519' });
    expect(describeHandshake(parseOk(vec('certificate')))).toEqual({ message: 'Certificate', detail: '1 cert' });
    expect(describeHandshake(parseOk(vec('certificate_verify')))).toEqual({ message: 'CertificateVerify', detail: 'rsa_pss_rsae_sha256 sig=128B' });
    expect(describeHandshake(parseOk(vec('server_finished')))).toEqual({ message: 'Finished', detail: '32B' });
    expect(describeHandshake(parseOk(vec('new_session_ticket')))).toEqual({ message: 'NewSessionTicket', detail: 'lifetime=30s ticket=178B max_early_data=1024' });
    expect(describeHandshake(parseOk(vec('encrypted_extensions'))).message).toBe('EncryptedExtensions');
    expect(describeHandshake({ type: 'key_update', updateRequested: true })).toEqual({ message: 'KeyUpdate', detail: 'update_requested' });
    expect(describeHandshake({ type: 'certificate', requestContext: new Uint8Array(0), entries: [{ data: hex('aa'), extensions: [] }, { data: hex('bb'), extensions: [] }] }).detail).toBe('2 certs');
  });

  it('shows the selected PSK index in a resumed ServerHello', () => {
    const sh = rfcSh();
    const resumed: ServerHello = { ...sh, extensions: [...sh.extensions, { type: 'pre_shared_key_server', selectedIdentity: 0 }] };
    expect(describeHandshake(resumed).detail).toBe('TLS_AES_128_GCM_SHA256 key_share=x25519 psk=0');
  });
});
