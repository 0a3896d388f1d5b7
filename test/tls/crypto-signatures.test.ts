// Signing keys and verification (src/tls/crypto/signatures.ts and the node provider): every scheme
// signs and verifies, agrees with node:crypto in both directions, and refuses bad input with false.
import { describe, expect, it } from 'vitest';
import crypto, { type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { SignatureScheme as S, type SignatureScheme } from '../../src/tls/constants.js';
import type { CryptoProvider, PrivateKeyMaterial, PublicKey, SigningKey } from '../../src/tls/crypto/provider.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { nodeProvider } from '../../src/tls/crypto/node.js';
import { materialFromKeyObject } from '../../src/tls/crypto/keys.js';
import { createSigningKey, schemeFitsKeyForCertificateVerify, verifySignature } from '../../src/tls/crypto/signatures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const MESSAGE = enc(' '.repeat(64) + 'TLS 1.3, server CertificateVerify\0' + 'x'.repeat(32));

interface Fixture {
  name: string;
  node: KeyObject;
  material: PrivateKeyMaterial;
  schemes: SignatureScheme[];
}
function fixture(name: string, node: KeyObject, schemes: SignatureScheme[]): Fixture {
  return { name, node, material: materialFromKeyObject(node)!, schemes };
}
const FIXTURES: Fixture[] = [
  fixture('P-256', crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, [S.ecdsa_secp256r1_sha256]),
  fixture('P-384', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, [S.ecdsa_secp384r1_sha384]),
  fixture('Ed25519', crypto.generateKeyPairSync('ed25519').privateKey, [S.ed25519]),
  fixture('RSA-2048', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, [
    S.rsa_pss_rsae_sha256,
    S.rsa_pss_rsae_sha384,
    S.rsa_pss_rsae_sha512,
  ]),
];
const [P256, P384, ED, RSA] = FIXTURES as [Fixture, Fixture, Fixture, Fixture];

const HASH: Partial<Record<SignatureScheme, string>> = {
  [S.ecdsa_secp256r1_sha256]: 'sha256',
  [S.ecdsa_secp384r1_sha384]: 'sha384',
  [S.rsa_pss_rsae_sha256]: 'sha256',
  [S.rsa_pss_rsae_sha384]: 'sha384',
  [S.rsa_pss_rsae_sha512]: 'sha512',
  [S.rsa_pkcs1_sha256]: 'sha256',
  [S.rsa_pkcs1_sha384]: 'sha384',
  [S.rsa_pkcs1_sha512]: 'sha512',
};
const SALT = { sha256: 32, sha384: 48, sha512: 64 } as Record<string, number>;

/** node:crypto's own signature for a scheme (OpenSSL: DER ECDSA, PSS with salt = hash length). */
function nodeSign(f: Fixture, scheme: SignatureScheme, msg: Uint8Array): Uint8Array {
  if (scheme === S.ed25519) return crypto.sign(null, msg, f.node);
  const hash = HASH[scheme]!;
  if (scheme >= 0x0804 && scheme <= 0x0806) {
    return crypto.sign(hash, msg, { key: f.node, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[hash] });
  }
  if ((scheme & 0xff) === 0x01) return crypto.sign(hash, msg, { key: f.node, padding: crypto.constants.RSA_PKCS1_PADDING });
  return crypto.sign(hash, msg, { key: f.node, dsaEncoding: 'der' });
}
function nodeVerify(f: Fixture, scheme: SignatureScheme, msg: Uint8Array, sig: Uint8Array): boolean {
  const pub = crypto.createPublicKey(f.node);
  if (scheme === S.ed25519) return crypto.verify(null, msg, pub, sig);
  const hash = HASH[scheme]!;
  if (scheme >= 0x0804 && scheme <= 0x0806) {
    return crypto.verify(hash, msg, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[hash] }, sig);
  }
  if ((scheme & 0xff) === 0x01) return crypto.verify(hash, msg, { key: pub, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
  return crypto.verify(hash, msg, { key: pub, dsaEncoding: 'der' }, sig);
}

const PROVIDERS: [string, CryptoProvider][] = [
  ['noble', nobleProvider],
  ['node', nodeProvider],
];

describe.each(PROVIDERS)('%s provider', (_label, provider) => {
  describe.each(FIXTURES)('$name key', (f) => {
    const key: SigningKey = provider.signingKey(f.material);

    it('advertises the TLS 1.3 schemes of its key type', () => {
      expect([...key.schemes]).toEqual(f.schemes);
    });

    it('signs every advertised scheme so that it verifies here and in node:crypto', () => {
      for (const scheme of key.schemes) {
        const sig = key.sign(scheme, MESSAGE);
        expect(provider.verify(scheme, key.publicKey, MESSAGE, sig), `0x${scheme.toString(16)}`).toBe(true);
        expect(nodeVerify(f, scheme, MESSAGE, sig), `node 0x${scheme.toString(16)}`).toBe(true);
      }
    });

    it('verifies node:crypto signatures for every advertised scheme', () => {
      for (const scheme of key.schemes) {
        expect(provider.verify(scheme, key.publicKey, MESSAGE, nodeSign(f, scheme, MESSAGE))).toBe(true);
      }
    });

    it('rejects a tampered signature, a tampered message and an empty signature', () => {
      for (const scheme of key.schemes) {
        const sig = key.sign(scheme, MESSAGE);
        const badSig = sig.slice();
        badSig[badSig.length >> 1]! ^= 0x01;
        const badMsg = MESSAGE.slice();
        badMsg[0]! ^= 0x01;
        expect(provider.verify(scheme, key.publicKey, MESSAGE, badSig)).toBe(false);
        expect(provider.verify(scheme, key.publicKey, badMsg, sig)).toBe(false);
        expect(provider.verify(scheme, key.publicKey, MESSAGE, new Uint8Array(0))).toBe(false);
        expect(provider.verify(scheme, key.publicKey, MESSAGE, Uint8Array.from([...sig, 0]))).toBe(false);
        expect(provider.verify(scheme, key.publicKey, MESSAGE, sig.subarray(1))).toBe(false);
      }
    });

    it('refuses to sign with a scheme of another key type', () => {
      for (const scheme of [S.ed25519, S.rsa_pss_rsae_sha256, S.ecdsa_secp256r1_sha256, S.ed448, S.rsa_pss_pss_sha256, S.ecdsa_secp521r1_sha512]) {
        const ok =
          (f.material.kind === 'ec' && scheme === S.ecdsa_secp256r1_sha256) ||
          (f.material.kind === 'ed25519' && scheme === S.ed25519) ||
          (f.material.kind === 'rsa' && scheme === S.rsa_pss_rsae_sha256);
        if (ok) expect(() => key.sign(scheme, MESSAGE)).not.toThrow();
        else expect(() => key.sign(scheme, MESSAGE), `0x${scheme.toString(16)}`).toThrow();
      }
    });
  });

  it('answers false when the scheme does not fit the key', () => {
    const ec = provider.signingKey(P256.material);
    const ed = provider.signingKey(ED.material);
    const rsa = provider.signingKey(RSA.material);
    const ecSig = ec.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    const edSig = ed.sign(S.ed25519, MESSAGE);
    const rsaSig = rsa.sign(S.rsa_pss_rsae_sha256, MESSAGE);
    expect(provider.verify(S.ed25519, ec.publicKey, MESSAGE, ecSig)).toBe(false);
    expect(provider.verify(S.rsa_pss_rsae_sha256, ec.publicKey, MESSAGE, ecSig)).toBe(false);
    expect(provider.verify(S.ecdsa_secp256r1_sha256, ed.publicKey, MESSAGE, edSig)).toBe(false);
    expect(provider.verify(S.ecdsa_secp256r1_sha256, rsa.publicKey, MESSAGE, rsaSig)).toBe(false);
    expect(provider.verify(S.ed25519, rsa.publicKey, MESSAGE, rsaSig)).toBe(false);
    // Same key, other hash: SHA-384 scheme over a SHA-256 signature.
    expect(provider.verify(S.rsa_pss_rsae_sha384, rsa.publicKey, MESSAGE, rsaSig)).toBe(false);
    expect(provider.verify(S.rsa_pkcs1_sha256, rsa.publicKey, MESSAGE, rsaSig)).toBe(false);
    expect(provider.verify(S.ecdsa_secp384r1_sha384, ec.publicKey, MESSAGE, ecSig)).toBe(false);
  });

  it('answers false for schemes it does not implement', () => {
    for (const scheme of [S.ed448, S.ecdsa_secp521r1_sha512, S.rsa_pss_pss_sha256, 0x0201 as SignatureScheme, 0xffff as SignatureScheme]) {
      expect(provider.verify(scheme, createSigningKey(RSA.material).publicKey, MESSAGE, new Uint8Array(256))).toBe(false);
      expect(provider.verify(scheme, P256Pub(), MESSAGE, new Uint8Array(72))).toBe(false);
    }
  });

  it('accepts high-S ECDSA signatures, as OpenSSL makes them', () => {
    const pub = provider.signingKey(P256.material).publicKey;
    for (let i = 0; i < 8; i++) {
      const msg = enc(`high-s ${i}`);
      const sig = p256.Signature.fromBytes(crypto.sign('sha256', msg, { key: P256.node, dsaEncoding: 'der' }), 'der');
      const high = sig.s > p256.Point.CURVE().n / 2n ? sig : new p256.Signature(sig.r, p256.Point.CURVE().n - sig.s);
      expect(provider.verify(S.ecdsa_secp256r1_sha256, pub, msg, high.toBytes('der'))).toBe(true);
    }
  });

  it('verifies the certificate-chain pairings P-256 with SHA-384 and P-384 with SHA-256 (hash from the scheme, curve from the key)', () => {
    const p256pub = provider.signingKey(P256.material).publicKey;
    const p384pub = provider.signingKey(P384.material).publicKey;
    expect(provider.verify(S.ecdsa_secp384r1_sha384, p256pub, MESSAGE, crypto.sign('sha384', MESSAGE, { key: P256.node, dsaEncoding: 'der' }))).toBe(true);
    expect(provider.verify(S.ecdsa_secp256r1_sha256, p384pub, MESSAGE, crypto.sign('sha256', MESSAGE, { key: P384.node, dsaEncoding: 'der' }))).toBe(true);
    // …and signs them, for the local CA (certificates use ecdsa-with-SHA256).
    const sig = provider.signingKey(P384.material).sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    expect(nodeVerify(P384, S.ecdsa_secp256r1_sha256, MESSAGE, sig)).toBe(true);
  });

  it('signs and verifies RSASSA-PKCS1-v1_5 with SHA-256/384/512 for certificates, identically to node:crypto', () => {
    const key = provider.signingKey(RSA.material);
    for (const scheme of [S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha384, S.rsa_pkcs1_sha512]) {
      const sig = key.sign(scheme, MESSAGE);
      // PKCS#1 v1.5 is deterministic: byte-for-byte the same as OpenSSL.
      expect(Buffer.from(sig).equals(Buffer.from(nodeSign(RSA, scheme, MESSAGE)))).toBe(true);
      expect(provider.verify(scheme, key.publicKey, MESSAGE, sig)).toBe(true);
      expect(provider.verify(scheme, key.publicKey, enc('other'), sig)).toBe(false);
    }
  });

  it('never throws on malformed keys or signatures', () => {
    const rsa = RSA.material.kind === 'rsa' ? RSA.material : undefined!;
    const badKeys: PublicKey[] = [
      { kind: 'ec', curve: 'P-256', point: new Uint8Array(65) },
      { kind: 'ec', curve: 'P-256', point: new Uint8Array(33).fill(2) },
      { kind: 'ec', curve: 'P-384', point: (P256Pub() as { point: Uint8Array }).point }, // a P-256 point as P-384
      { kind: 'ec', curve: 'P-256', point: offCurve(P256Pub()) },
      { kind: 'ed25519', key: new Uint8Array(31) },
      { kind: 'ed25519', key: new Uint8Array(32).fill(0xff) },
      { kind: 'rsa', n: 0n, e: 65537n },
      { kind: 'rsa', n: rsa.n, e: 1n },
      { kind: 'rsa', n: rsa.n, e: 2n },
      { kind: 'rsa', n: rsa.n + 1n, e: 65537n },
      { kind: 'rsa', n: 15n, e: 3n },
      { kind: 'rsa', n: 1n << 20000n, e: 65537n },
    ];
    const sigs = [new Uint8Array(0), new Uint8Array(64), new Uint8Array(256).fill(0xff), Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), Uint8Array.from([0x30, 0x80])];
    const schemes = [S.ecdsa_secp256r1_sha256, S.ecdsa_secp384r1_sha384, S.ed25519, S.rsa_pss_rsae_sha256, S.rsa_pkcs1_sha256];
    for (const key of badKeys)
      for (const sig of sigs)
        for (const scheme of schemes) expect(provider.verify(scheme, key, MESSAGE, sig)).toBe(false);
  });

  it('rejects a signature representative not below the modulus', () => {
    const rsa = RSA.material as Extract<PrivateKeyMaterial, { kind: 'rsa' }>;
    const s = Buffer.from(rsa.n.toString(16).padStart(512, '0'), 'hex'); // s = n
    expect(provider.verify(S.rsa_pss_rsae_sha256, { kind: 'rsa', n: rsa.n, e: rsa.e }, MESSAGE, s)).toBe(false);
    expect(provider.verify(S.rsa_pkcs1_sha256, { kind: 'rsa', n: rsa.n, e: rsa.e }, MESSAGE, s)).toBe(false);
  });
});

function P256Pub(): PublicKey {
  return createSigningKey(P256.material).publicKey;
}
function offCurve(key: PublicKey): Uint8Array {
  const p = (key as { point: Uint8Array }).point.slice();
  p[64]! ^= 1;
  return p;
}

describe('createSigningKey', () => {
  it('derives the public key node:crypto derives', () => {
    for (const f of FIXTURES) {
      const ours = createSigningKey(f.material).publicKey;
      const jwk = crypto.createPublicKey(f.node).export({ format: 'jwk' });
      if (ours.kind === 'ec') expect(Buffer.from(ours.point.subarray(1, 1 + (ours.point.length - 1) / 2)).toString('base64url')).toBe(jwk.x);
      if (ours.kind === 'ed25519') expect(Buffer.from(ours.key).toString('base64url')).toBe(jwk.x);
      if (ours.kind === 'rsa') expect(ours.n.toString(16)).toBe(Buffer.from(jwk.n!, 'base64url').toString('hex').replace(/^0+/, ''));
    }
  });

  it('throws on key material of the wrong size', () => {
    expect(() => createSigningKey({ kind: 'ec', curve: 'P-256', d: new Uint8Array(48).fill(1) })).toThrow();
    expect(() => createSigningKey({ kind: 'ed25519', seed: new Uint8Array(31) })).toThrow();
    expect(() => createSigningKey({ kind: 'ec', curve: 'P-384', d: new Uint8Array(48) })).toThrow(); // d = 0
  });

  it('makes deterministic ECDSA signatures (RFC 6979), DER-encoded', () => {
    const key = createSigningKey(P256.material);
    const a = key.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    expect(Buffer.from(a).equals(Buffer.from(key.sign(S.ecdsa_secp256r1_sha256, MESSAGE)))).toBe(true);
    expect(a[0]).toBe(0x30);
    expect(a[1]).toBe(a.length - 2);
  });
});

describe('schemeFitsKeyForCertificateVerify', () => {
  it('applies the strict TLS 1.3 rule: the ECDSA scheme names the curve and PKCS#1 is never allowed', () => {
    const p256pub = createSigningKey(P256.material).publicKey;
    const p384pub = createSigningKey(P384.material).publicKey;
    const rsaPub = createSigningKey(RSA.material).publicKey;
    const edPub = createSigningKey(ED.material).publicKey;
    expect(schemeFitsKeyForCertificateVerify(S.ecdsa_secp256r1_sha256, p256pub)).toBe(true);
    expect(schemeFitsKeyForCertificateVerify(S.ecdsa_secp384r1_sha384, p256pub)).toBe(false);
    expect(schemeFitsKeyForCertificateVerify(S.ecdsa_secp256r1_sha256, p384pub)).toBe(false);
    expect(schemeFitsKeyForCertificateVerify(S.ecdsa_secp384r1_sha384, p384pub)).toBe(true);
    expect(schemeFitsKeyForCertificateVerify(S.rsa_pss_rsae_sha512, rsaPub)).toBe(true);
    expect(schemeFitsKeyForCertificateVerify(S.rsa_pkcs1_sha256, rsaPub)).toBe(false);
    expect(schemeFitsKeyForCertificateVerify(S.ed25519, edPub)).toBe(true);
    expect(schemeFitsKeyForCertificateVerify(S.ed25519, rsaPub)).toBe(false);
    expect(schemeFitsKeyForCertificateVerify(S.rsa_pss_pss_sha256, rsaPub)).toBe(false);
  });

  it('is what verifySignature leaves to the caller: the lenient ECDSA pairing still verifies', () => {
    const p384pub = createSigningKey(P384.material).publicKey;
    const sig = crypto.sign('sha256', MESSAGE, { key: P384.node, dsaEncoding: 'der' });
    expect(verifySignature(S.ecdsa_secp256r1_sha256, p384pub, MESSAGE, sig)).toBe(true);
  });
});
