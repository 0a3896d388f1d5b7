// DER reader/writer (X.690) and PEM (RFC 7468): byte-literal encodings, strict DER rejections as typed
// results, round trips, and a seeded fuzz of parseCertificate over 10 000 mutated certificates.

import { describe, expect, it } from 'vitest';
import {
  asBitString,
  asBoolean,
  asInteger,
  asOid,
  asString,
  asTime,
  derBitString,
  derBoolean,
  derDecode,
  derExplicit,
  derGeneralizedTime,
  derImplicit,
  derInteger,
  derNamedBits,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtcTime,
  derUtf8String,
  readChildren,
  readElement,
  readSingle,
  type DerElement,
} from '../../src/tls/x509/der.js';
import { pemDecodeAll, pemEncode } from '../../src/tls/x509/pem.js';
import { parseCertificate } from '../../src/tls/x509/certificate.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { KeyUsage } from '../../src/tls/x509/oids.js';
import { mulberry32 } from '../helpers/prng.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function single(bytes: Uint8Array): DerElement {
  const r = readSingle(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
function decoded<T>(f: () => T): T {
  const r = derDecode(f);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('DER writer', () => {
  it('encodes_integers_minimally_in_twos_complement', () => {
    expect(toHex(derInteger(0))).toBe('020100');
    expect(toHex(derInteger(127))).toBe('02017f');
    expect(toHex(derInteger(128))).toBe('02020080');
    expect(toHex(derInteger(256))).toBe('02020100');
    expect(toHex(derInteger(-1))).toBe('0201ff');
    expect(toHex(derInteger(-128))).toBe('020180');
    expect(toHex(derInteger(-129))).toBe('0202ff7f');
    expect(toHex(derInteger(hex('000000ff')))).toBe('020200ff');
    expect(toHex(derInteger(hex('0000')))).toBe('020100');
    expect(toHex(derInteger(2n ** 64n))).toBe('0209010000000000000000');
  });

  it('encodes_oids_with_the_first_two_arcs_combined_and_base128_arcs', () => {
    // X.690 §8.19.5 example territory: 1.2.840.113549 → 2a 86 48 86 f7 0d
    expect(toHex(derOid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(toHex(derOid('2.5.29.17'))).toBe('0603551d11');
    expect(toHex(derOid('2.999.3'))).toBe('0603883703');
    expect(() => derOid('1.40')).toThrow(RangeError);
    expect(() => derOid('x.1')).toThrow(RangeError);
  });

  it('uses_long_form_lengths_only_from_128_bytes', () => {
    expect(toHex(derOctetString(new Uint8Array(127))).slice(0, 4)).toBe('047f');
    expect(toHex(derOctetString(new Uint8Array(128))).slice(0, 6)).toBe('048180');
    expect(toHex(derOctetString(new Uint8Array(300))).slice(0, 8)).toBe('0482012c');
  });

  it('encodes_the_simple_types_as_x690_requires', () => {
    expect(toHex(derBoolean(true))).toBe('0101ff');
    expect(toHex(derBoolean(false))).toBe('010100');
    expect(toHex(derNull())).toBe('0500');
    expect(toHex(derBitString(hex('abcd')))).toBe('030300abcd');
    expect(toHex(derUtf8String('é'))).toBe('0c02c3a9');
    expect(toHex(derPrintableString('US'))).toBe('13025553');
    expect(() => derPrintableString('a@b')).toThrow(RangeError);
    expect(toHex(derExplicit(0, derInteger(2)))).toBe('a003020102');
    expect(toHex(derImplicit(2, new TextEncoder().encode('a.b')))).toBe('8203612e62');
    expect(toHex(derImplicit(1, hex('0101ff'), true))).toBe('a1030101ff');
  });

  it('encodes_key_usage_named_bits_without_trailing_zero_bits', () => {
    // X.690 §11.2.2; RFC 5280 §4.2.1.3 bit numbers.
    expect(toHex(derNamedBits(KeyUsage.digitalSignature))).toBe('03020780');
    expect(toHex(derNamedBits(KeyUsage.keyCertSign | KeyUsage.cRLSign))).toBe('03020106');
    expect(toHex(derNamedBits(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))).toBe('030205a0');
    expect(toHex(derNamedBits(KeyUsage.decipherOnly))).toBe('0303070080');
  });

  it('sorts_set_of_components_by_their_encoding', () => {
    expect(toHex(derSet(derInteger(2), derInteger(1)))).toBe('3106020101020102');
  });

  it('picks_utctime_before_2050_and_generalizedtime_from_2050', () => {
    const t2049 = Date.UTC(2049, 11, 31, 23, 59, 59);
    const t2050 = Date.UTC(2050, 0, 1, 0, 0, 0);
    expect(Buffer.from(derTime(t2049)).subarray(2).toString()).toBe('491231235959Z');
    expect(derTime(t2049)[0]).toBe(0x17);
    expect(Buffer.from(derTime(t2050)).subarray(2).toString()).toBe('20500101000000Z');
    expect(derTime(t2050)[0]).toBe(0x18);
    expect(derTime(Date.UTC(1949, 0, 1))[0]).toBe(0x18);
    expect(() => derUtcTime(t2050)).toThrow(RangeError);
  });
});

describe('DER reader', () => {
  it('round_trips_every_writer_type', () => {
    expect(decoded(() => asInteger(single(derInteger(-129))))).toBe(-129n);
    expect(decoded(() => asInteger(single(derInteger(2n ** 100n))))).toBe(2n ** 100n);
    expect(decoded(() => asOid(single(derOid('1.2.840.10045.4.3.2'))))).toBe('1.2.840.10045.4.3.2');
    expect(decoded(() => asOid(single(derOid('2.25.329800735698586629295641978511506172918'))))).toBe(
      '2.25.329800735698586629295641978511506172918',
    );
    expect(decoded(() => asBoolean(single(derBoolean(true))))).toBe(true);
    expect(decoded(() => asString(single(derUtf8String('grüß'))))).toBe('grüß');
    const bits = decoded(() => asBitString(single(derNamedBits(KeyUsage.keyCertSign))));
    expect(bits.unusedBits).toBe(2);
    const t = Date.UTC(2031, 6, 4, 5, 6, 7);
    expect(decoded(() => asTime(single(derUtcTime(t))))).toBe(t);
    expect(decoded(() => asTime(single(derGeneralizedTime(Date.UTC(2077, 1, 28)))))).toBe(Date.UTC(2077, 1, 28));
  });

  it('reads_utctime_years_50_to_99_as_19xx', () => {
    const el = single(hex('170d3530303130313030303030305a')); // "500101000000Z"
    expect(decoded(() => asTime(el))).toBe(Date.UTC(1950, 0, 1));
  });

  it('reads_nested_sequences_and_reports_where_each_element_ends', () => {
    const der = derSequence(derInteger(1), derSequence(derNull()), derOctetString(hex('00ff')));
    const kids = readChildren(single(der));
    expect(kids.ok && kids.value.map((k) => k.tag)).toEqual([0x02, 0x30, 0x04]);
    const first = readElement(der, 2);
    expect(first.ok && first.value.next).toBe(5);
  });

  it.each([
    ['indefinite length', '3080020101 0000', 'indefinite length'],
    ['non-minimal long length', '048105 0102030405', 'non-minimal length'],
    ['length with a leading zero octet', '04820005 0102030405', 'non-minimal length'],
    ['length beyond the buffer', '0405 0102', 'truncated value'],
    ['five length octets', '0485 0000000001 00', 'length too large'],
    ['missing length', '04', 'truncated length'],
    ['empty input', '', 'truncated tag'],
    ['trailing bytes', '0500 00', 'trailing data after element'],
  ])('rejects_%s_as_a_typed_error', (_name, bytes, error) => {
    const r = readSingle(hex(bytes));
    expect(r).toEqual({ ok: false, error });
  });

  it.each([
    ['non-minimal INTEGER', '02020001', () => asInteger],
    ['empty INTEGER', '0200', () => asInteger],
    ['BOOLEAN 0x01', '010101', () => asBoolean],
    ['OID with a 0x80 padding octet', '0603 2a8001', () => asOid],
    ['truncated OID arc', '0602 2a86', () => asOid],
    ['UTCTime without seconds', '170b 353030313031303030305a', () => asTime],
    ['UTCTime with an offset', '1711 3530303130313030303030302b30313030', () => asTime],
    ['February 30th', '170d 3235303233303030303030305a', () => asTime],
    ['BIT STRING with 8 unused bits', '0302 08ff', () => asBitString],
  ])('rejects_a_%s', (_name, bytes, fn) => {
    const el = single(hex(bytes));
    const r = derDecode(() => fn()(el));
    expect(r.ok).toBe(false);
  });
});

describe('PEM', () => {
  const der = Uint8Array.from({ length: 200 }, (_, i) => i);

  it('encodes_64_column_lines_between_begin_and_end', () => {
    const pem = pemEncode(der, 'CERTIFICATE');
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    expect(lines.slice(1, -1).every((l) => l.length <= 64)).toBe(true);
    expect(lines[1]!.length).toBe(64);
  });

  it('decodes_every_block_with_crlf_and_text_around_it', () => {
    const a = pemEncode(der, 'CERTIFICATE').replace(/\n/g, '\r\n');
    const b = pemEncode(der.subarray(0, 10), 'CERTIFICATE');
    const key = pemEncode(der.subarray(0, 5), 'PRIVATE KEY');
    const text = `Bag Attributes\r\n  friendlyName: x\r\n${a}\r\nsubject=CN=x\n${key}\n# comment\n${b}trailer`;
    const out = pemDecodeAll(text);
    expect(out.map((d) => d.length)).toEqual([200, 10]);
    expect(toHex(out[0]!)).toBe(toHex(der));
    expect(pemDecodeAll(text, 'PRIVATE KEY').map((d) => d.length)).toEqual([5]);
  });

  it('skips_blocks_with_bad_base64_or_mismatched_labels', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAB$D\n-----END CERTIFICATE-----\n';
    const mismatched = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n';
    const good = pemEncode(der.subarray(0, 3), 'CERTIFICATE');
    expect(pemDecodeAll(bad + mismatched + good).map((d) => d.length)).toEqual([3]);
    expect(pemDecodeAll('no pem here')).toEqual([]);
  });
});

/** Reads every TLV at every depth and applies each typed helper to it; returns how many were seen. */
function walk(bytes: Uint8Array, depth: number): number {
  let seen = 0;
  let at = 0;
  while (at < bytes.length && depth < 20) {
    const r = readElement(bytes, at);
    if (!r.ok) break;
    const el = r.value.element;
    seen++;
    for (const f of [asInteger, asBoolean, asBitString, asOid, asString, asTime]) derDecode(() => f(el));
    if (el.constructed) {
      const kids = readChildren(el);
      if (kids.ok) for (const k of kids.value) seen += walk(k.raw, depth + 1);
    }
    at = r.value.next;
  }
  return seen;
}

describe('parseCertificate fuzz', () => {
  it('never_throws_on_10000_seeded_mutations_of_real_certificates_nor_does_the_der_reader', () => {
    const now = Date.UTC(2025, 0, 15);
    const ca = createLocalCa({ crypto: nobleProvider, now });
    const leaf = issueCertificate({
      ca,
      crypto: nobleProvider,
      now,
      commonName: 'fuzz.test',
      dnsNames: ['fuzz.test', '*.fuzz.test'],
      ipAddresses: ['198.18.0.2', '2001:db8::1'],
      keyKind: 'ecdsa-p256',
    });
    const seeds = [ca.certDer, leaf.certDer];
    for (const s of seeds) expect(parseCertificate(s).ok).toBe(true);
    const prng = mulberry32(0x5eed509);
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const input = prng.mutate(seeds[i % seeds.length]!);
      const r = parseCertificate(input); // must not throw
      if (r.ok) accepted++;
      else expect(typeof r.error).toBe('string');
    }
    // Some mutations land in signature or key bytes and still parse; most do not.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(10_000);
    // The generic reader and every typed helper, over every element of mutated inputs.
    for (let i = 0; i < 2000; i++) expect(() => walk(prng.mutate(seeds[i % seeds.length]!), 0)).not.toThrow();
    // Pure random bytes, with a SEQUENCE header so the parser gets past the first check.
    for (let i = 0; i < 1000; i++) {
      const body = prng.bytes(prng.int(300));
      expect(() => parseCertificate(Uint8Array.from([0x30, 0x82, body.length >> 8, body.length & 0xff, ...body]))).not.toThrow();
    }
  });
});
