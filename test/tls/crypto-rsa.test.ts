// RSA on BigInt (src/tls/crypto/rsa.ts): RSASSA-PSS and RSASSA-PKCS1-v1_5 (RFC 8017) against
// node:crypto, the RFC 8448 §3 server CertificateVerify, the CRT fault guard and bad-input handling.
import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sha256 } from '@noble/hashes/sha2.js';
import { materialFromKeyObject } from '../../src/tls/crypto/keys.js';
import {
  type RsaHash,
  type RsaPrivateKey,
  bigIntToBytes,
  bytesToBigInt,
  emsaPssEncode,
  emsaPssVerify,
  modPow,
  rsaSignPkcs1,
  rsaSignPss,
  rsaVerifyPkcs1,
  rsaVerifyPss,
} from '../../src/tls/crypto/rsa.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const big = (s: string): bigint => BigInt('0x' + s);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const v = (k: string): string => vectors[k] as string;

const rfcKeyHex = vectors.server_rsa_private_key as Record<string, string>;
const RFC8448_KEY: RsaPrivateKey = {
  n: big(rfcKeyHex.modulus!),
  e: big(rfcKeyHex.public_exponent!),
  d: big(rfcKeyHex.private_exponent!),
  p: big(rfcKeyHex.prime1!),
  q: big(rfcKeyHex.prime2!),
  dp: big(rfcKeyHex.exponent1!),
  dq: big(rfcKeyHex.exponent2!),
  qi: big(rfcKeyHex.coefficient!),
};

function rsaKey(bits: number): { key: RsaPrivateKey; node: crypto.KeyObject } {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  const m = materialFromKeyObject(privateKey);
  if (m?.kind !== 'rsa') throw new Error('not rsa');
  return { key: m, node: privateKey };
}
const K2048 = rsaKey(2048);
const HASHES: RsaHash[] = ['sha256', 'sha384', 'sha512'];
const SALT = { sha256: 32, sha384: 48, sha512: 64 };
const MSG = enc('the full content, not a digest');

function nodePss(node: crypto.KeyObject, hash: RsaHash) {
  return { key: node, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[hash] };
}

describe('big-integer helpers', () => {
  it('computes modular powers, including the zero and one edge cases', () => {
    expect(modPow(4n, 13n, 497n)).toBe(445n);
    expect(modPow(5n, 0n, 7n)).toBe(1n);
    expect(modPow(5n, 3n, 1n)).toBe(0n);
    const m = RFC8448_KEY.n;
    const x = 0x1234567890abcdefn;
    // A long exponent (sliding window) agrees with the plain definition via the RSA identity.
    expect(modPow(modPow(x, RFC8448_KEY.e, m), RFC8448_KEY.d, m)).toBe(x);
    // Against a right-to-left binary reference, across the short-exponent and sliding-window paths.
    const reference = (b: bigint, e: bigint, mod: bigint): bigint => {
      let r = 1n;
      for (b %= mod; e > 0n; e >>= 1n, b = (b * b) % mod) if (e & 1n) r = (r * b) % mod;
      return r;
    };
    for (const e of [1n, 2n, 31n, 32n, 33n, (1n << 32n) - 1n, (1n << 40n) + 17n, (1n << 64n) - 1n, RFC8448_KEY.d, RFC8448_KEY.dp]) {
      expect(modPow(x, e, m)).toBe(reference(x, e, m));
    }
  });

  it('converts between octet strings and integers (RFC 8017 §4.1, §4.2)', () => {
    expect(bytesToBigInt(new Uint8Array(0))).toBe(0n);
    expect(bytesToBigInt(hex('000102'))).toBe(0x102n);
    expect(Buffer.from(bigIntToBytes(0x102n, 4)!).toString('hex')).toBe('00000102');
    expect(bigIntToBytes(0x10000n, 2)).toBeUndefined();
    expect(bigIntToBytes(-1n, 2)).toBeUndefined();
  });
});

describe('RFC 8448 §3 server CertificateVerify', () => {
  // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, then Transcript-Hash(ClientHello … Certificate).
  const transcript = sha256(
    Uint8Array.from([...hex(v('client_hello')), ...hex(v('server_hello')), ...hex(v('encrypted_extensions')), ...hex(v('certificate'))]),
  );
  const content = Uint8Array.from([...enc(' '.repeat(64) + 'TLS 1.3, server CertificateVerify'), 0, ...transcript]);
  const cv = hex(v('certificate_verify'));
  // struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; } after the 4-byte handshake header.
  const scheme = (cv[4]! << 8) | cv[5]!;
  const sig = cv.subarray(8, 8 + ((cv[6]! << 8) | cv[7]!));

  it('is an rsa_pss_rsae_sha256 signature that verifies under the server key', () => {
    expect(scheme).toBe(0x0804);
    expect(sig.length).toBe(128);
    expect(rsaVerifyPss(RFC8448_KEY, 'sha256', content, sig)).toBe(true);
  });

  it('fails for a different transcript or a flipped signature bit', () => {
    const other = content.slice();
    other[other.length - 1]! ^= 1;
    expect(rsaVerifyPss(RFC8448_KEY, 'sha256', other, sig)).toBe(false);
    const bad = sig.slice();
    bad[0]! ^= 0x80;
    expect(rsaVerifyPss(RFC8448_KEY, 'sha256', content, bad)).toBe(false);
    expect(rsaVerifyPss(RFC8448_KEY, 'sha384', content, sig)).toBe(false);
  });

  it('can be re-made with the RFC 8448 private key through the CRT', () => {
    const ours = rsaSignPss(RFC8448_KEY, 'sha256', content);
    expect(rsaVerifyPss(RFC8448_KEY, 'sha256', content, ours)).toBe(true);
    const pub = crypto.createPublicKey({ key: { kty: 'RSA', n: b64u(RFC8448_KEY.n), e: b64u(RFC8448_KEY.e) }, format: 'jwk' });
    expect(crypto.verify('sha256', content, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, ours)).toBe(true);
  });
});

function b64u(x: bigint): string {
  let h = x.toString(16);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex').toString('base64url');
}

describe('RSASSA-PSS (RFC 8017 §8.1) with salt length = hash length', () => {
  it.each(HASHES)('signs with %s so that node:crypto verifies, and verifies node:crypto signatures', (hash) => {
    const sig = rsaSignPss(K2048.key, hash, MSG);
    expect(sig.length).toBe(256);
    expect(crypto.verify(hash, MSG, nodePss(crypto.createPublicKey(K2048.node), hash), sig)).toBe(true);
    expect(rsaVerifyPss(K2048.key, hash, MSG, crypto.sign(hash, MSG, nodePss(K2048.node, hash)))).toBe(true);
  });

  it('uses a fresh random salt for every signature', () => {
    expect(Buffer.from(rsaSignPss(K2048.key, 'sha256', MSG)).equals(Buffer.from(rsaSignPss(K2048.key, 'sha256', MSG)))).toBe(false);
  });

  it('rejects a node:crypto signature made with another salt length', () => {
    const sig = crypto.sign('sha256', MSG, { key: K2048.node, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
    expect(rsaVerifyPss(K2048.key, 'sha256', MSG, sig)).toBe(false);
  });

  it('handles moduli whose bit length is 1 mod 8 (emLen = k - 1) and other odd sizes', () => {
    for (const bits of [2049, 1031, 1543]) {
      const { key, node } = rsaKey(bits);
      const emLen = Math.ceil((bits - 1) / 8);
      // RFC 8017 §9.1.1 step 3: emLen ≥ hLen + sLen + 2, i.e. 2 * hLen + 2 here.
      for (const hash of HASHES.filter((h) => emLen >= 2 * SALT[h] + 2)) {
        const sig = rsaSignPss(key, hash, MSG);
        expect(crypto.verify(hash, MSG, nodePss(crypto.createPublicKey(node), hash), sig), `${bits} ${hash}`).toBe(true);
        expect(rsaVerifyPss(key, hash, MSG, crypto.sign(hash, MSG, nodePss(node, hash))), `${bits} ${hash}`).toBe(true);
      }
    }
  });

  it('round-trips EMSA-PSS encoding and refuses a wrong trailer or nonzero top bits', () => {
    const salt = new Uint8Array(32).fill(7);
    const em = emsaPssEncode('sha256', MSG, 2047, salt);
    expect(em.length).toBe(256);
    expect(em[255]).toBe(0xbc);
    expect(emsaPssVerify('sha256', MSG, em, 2047, 32)).toBe(true);
    expect(emsaPssVerify('sha256', MSG, em, 2047, 31)).toBe(false);
    const trailer = em.slice();
    trailer[255] = 0xbd;
    expect(emsaPssVerify('sha256', MSG, trailer, 2047, 32)).toBe(false);
    const top = em.slice();
    top[0]! |= 0x80;
    expect(emsaPssVerify('sha256', MSG, top, 2047, 32)).toBe(false);
    expect(emsaPssVerify('sha256', MSG, em.subarray(1), 2047, 32)).toBe(false);
  });
});

describe('RSASSA-PKCS1-v1_5 (RFC 8017 §8.2)', () => {
  it.each(HASHES)('produces the same bytes as node:crypto with %s and verifies them', (hash) => {
    const ours = rsaSignPkcs1(K2048.key, hash, MSG);
    const theirs = crypto.sign(hash, MSG, { key: K2048.node, padding: crypto.constants.RSA_PKCS1_PADDING });
    expect(Buffer.from(ours).equals(theirs)).toBe(true);
    expect(rsaVerifyPkcs1(K2048.key, hash, MSG, theirs)).toBe(true);
    expect(rsaVerifyPkcs1(K2048.key, hash, enc('other'), theirs)).toBe(false);
  });

  it('rejects a signature over the same digest under another hash algorithm', () => {
    const sig = rsaSignPkcs1(K2048.key, 'sha256', MSG);
    expect(rsaVerifyPkcs1(K2048.key, 'sha384', MSG, sig)).toBe(false);
    expect(rsaVerifyPkcs1(K2048.key, 'sha512', MSG, sig)).toBe(false);
  });
});

describe('private-key operations', () => {
  it('refuse to release a signature when the CRT result does not verify (fault guard)', () => {
    const faulty: RsaPrivateKey = { ...K2048.key, dp: K2048.key.dp ^ 2n };
    expect(() => rsaSignPss(faulty, 'sha256', MSG)).toThrow(/self-check/);
    expect(() => rsaSignPkcs1(faulty, 'sha256', MSG)).toThrow(/self-check/);
  });

  it('sign RSA-2048 in a few milliseconds', () => {
    rsaSignPss(K2048.key, 'sha256', MSG);
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) rsaSignPss(K2048.key, 'sha256', MSG);
    const perSign = (performance.now() - t0) / 10;
    expect(perSign).toBeLessThan(50); // ~4 ms measured; generous for loaded CI machines
  });
});

describe('verification never throws', () => {
  it('answers false for wrong-length, out-of-range and garbage signatures', () => {
    const { key } = K2048;
    const n = bigIntToBytes(key.n, 256)!;
    const cases = [new Uint8Array(0), new Uint8Array(255), new Uint8Array(257), n, new Uint8Array(256).fill(0xff), new Uint8Array(256)];
    for (const sig of cases) {
      for (const hash of HASHES) {
        expect(rsaVerifyPss(key, hash, MSG, sig)).toBe(false);
        expect(rsaVerifyPkcs1(key, hash, MSG, sig)).toBe(false);
      }
    }
  });

  it('answers false for unusable public keys', () => {
    const sig = rsaSignPss(K2048.key, 'sha256', MSG);
    for (const pub of [
      { n: 0n, e: 65537n },
      { n: K2048.key.n, e: 1n },
      { n: K2048.key.n, e: 65536n },
      { n: K2048.key.n, e: K2048.key.n + 2n },
      { n: K2048.key.n, e: (1n << 64n) + 1n }, // above the 64-bit public-exponent bound
      { n: K2048.key.n - 1n, e: 65537n },
      { n: 3233n, e: 17n }, // far below the size bound
    ]) {
      expect(rsaVerifyPss(pub, 'sha256', MSG, sig)).toBe(false);
      expect(rsaVerifyPkcs1(pub, 'sha256', MSG, sig)).toBe(false);
    }
  });

  it('answers false, without throwing, for PSS with a modulus too small for the hash', () => {
    // 768-bit modulus: emLen 96 < hLen + sLen + 2 = 130 for SHA-512 (SHA-256 fits).
    const { key, node } = rsaKey(768);
    const sig = crypto.sign('sha256', MSG, nodePss(node, 'sha256'));
    expect(rsaVerifyPss(key, 'sha256', MSG, sig)).toBe(true);
    expect(rsaVerifyPss(key, 'sha512', MSG, sig)).toBe(false);
    expect(() => rsaSignPss(key, 'sha512', MSG)).toThrow();
  });
});
