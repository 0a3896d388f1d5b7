// Key-file handling (src/tls/crypto/keys.ts): PEM private keys from `openssl` (PKCS#8, SEC 1,
// PKCS#1), unsupported keys with a readable error, SPKI <-> PublicKey, and generated keys.
import { describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { SignatureScheme as S } from '../../src/tls/constants.js';
import {
  generatePrivateKey,
  loadPrivateKeyPem,
  privateKeyToPem,
  publicKeyFromSpki,
  publicKeyToSpkiDer,
} from '../../src/tls/crypto/keys.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import type { PrivateKeyMaterial } from '../../src/tls/crypto/provider.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();

/** A PEM private key from the openssl CLI when present, else the same kind from node:crypto. */
function pem(opensslArgs: string[], fallback: () => string): string {
  if (OPENSSL) return execFileSync('openssl', opensslArgs, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return fallback();
}
const nodePem = (type: 'pkcs8' | 'sec1' | 'pkcs1', gen: () => crypto.KeyObject) => () => gen().export({ type, format: 'pem' }).toString();
const ec = (namedCurve: string) => () => crypto.generateKeyPairSync('ec', { namedCurve }).privateKey;

const CASES: { name: string; pem: string; header: string; kind: PrivateKeyMaterial['kind']; scheme: number }[] = [
  {
    name: 'PKCS#8 ECDSA P-256 (openssl genpkey)',
    pem: pem(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], nodePem('pkcs8', ec('P-256'))),
    header: 'PRIVATE KEY',
    kind: 'ec',
    scheme: S.ecdsa_secp256r1_sha256,
  },
  {
    name: 'PKCS#8 ECDSA P-384 (openssl genpkey)',
    pem: pem(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], nodePem('pkcs8', ec('P-384'))),
    header: 'PRIVATE KEY',
    kind: 'ec',
    scheme: S.ecdsa_secp384r1_sha384,
  },
  {
    name: 'SEC 1 "EC PRIVATE KEY" P-384 (openssl ecparam)',
    pem: pem(['ecparam', '-name', 'secp384r1', '-genkey', '-noout'], nodePem('sec1', ec('P-384'))),
    header: 'EC PRIVATE KEY',
    kind: 'ec',
    scheme: S.ecdsa_secp384r1_sha384,
  },
  {
    name: 'PKCS#8 Ed25519 (openssl genpkey)',
    pem: pem(['genpkey', '-algorithm', 'ED25519'], nodePem('pkcs8', () => crypto.generateKeyPairSync('ed25519').privateKey)),
    header: 'PRIVATE KEY',
    kind: 'ed25519',
    scheme: S.ed25519,
  },
  {
    name: 'PKCS#8 RSA-2048 (openssl genpkey)',
    pem: pem(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], nodePem('pkcs8', () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)),
    header: 'PRIVATE KEY',
    kind: 'rsa',
    scheme: S.rsa_pss_rsae_sha256,
  },
  {
    name: 'PKCS#1 "RSA PRIVATE KEY" (openssl genrsa -traditional)',
    pem: pem(['genrsa', '-traditional', '2048'], nodePem('pkcs1', () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)),
    header: 'RSA PRIVATE KEY',
    kind: 'rsa',
    scheme: S.rsa_pss_rsae_sha256,
  },
];

describe('loadPrivateKeyPem', () => {
  it.each(CASES)('loads a $name key that then signs as node:crypto expects', (c) => {
    expect(c.pem).toContain(`-----BEGIN ${c.header}-----`);
    const material = loadPrivateKeyPem(c.pem);
    expect(material.kind).toBe(c.kind);
    const key = nobleProvider.signingKey(material);
    const msg = new TextEncoder().encode('signed by a loaded key');
    const sig = key.sign(c.scheme as S, msg);
    const pub = crypto.createPublicKey(c.pem);
    const ok =
      c.kind === 'ed25519'
        ? crypto.verify(null, msg, pub, sig)
        : c.kind === 'rsa'
          ? crypto.verify('sha256', msg, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
          : crypto.verify(c.scheme === S.ecdsa_secp256r1_sha256 ? 'sha256' : 'sha384', msg, { key: pub, dsaEncoding: 'der' }, sig);
    expect(ok).toBe(true);
  });

  it.each(CASES)('round-trips a $name key through privateKeyToPem (PKCS#8)', (c) => {
    const material = loadPrivateKeyPem(c.pem);
    const out = privateKeyToPem(material);
    expect(out).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(loadPrivateKeyPem(out)).toEqual(material);
    // The same key as OpenSSL sees it.
    const a = crypto.createPublicKey(out).export({ type: 'spki', format: 'der' });
    const b = crypto.createPublicKey(c.pem).export({ type: 'spki', format: 'der' });
    expect(a.equals(b)).toBe(true);
  });

  const unsupported: [string, () => string][] = [
    ['P-521', nodePem('pkcs8', ec('P-521'))],
    ['secp256k1', nodePem('pkcs8', ec('secp256k1'))],
    ['brainpoolP256r1', nodePem('pkcs8', ec('brainpoolP256r1'))],
    ['Ed448', nodePem('pkcs8', () => crypto.generateKeyPairSync('ed448').privateKey)],
    ['X25519', nodePem('pkcs8', () => crypto.generateKeyPairSync('x25519').privateKey)],
    ['RSA-PSS', nodePem('pkcs8', () => crypto.generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).privateKey)],
    ['DSA', nodePem('pkcs8', () => crypto.generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey)],
  ];
  it.each(unsupported)('refuses a %s key with a message that says what is accepted', (_name, make) => {
    expect(() => loadPrivateKeyPem(make(), 'server.key')).toThrow(/^server\.key is not an ECDSA P-256\/P-384, Ed25519 or RSA private key/);
  });

  it('says so when the file is not a PEM private key at all', () => {
    expect(() => loadPrivateKeyPem('hello')).toThrow(/key\.pem does not hold a readable PEM private key/);
    const pub = crypto.generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPrivateKeyPem(pub)).toThrow(/not|readable/);
    const cut = CASES[0]!.pem.slice(0, 80);
    expect(() => loadPrivateKeyPem(cut)).toThrow(Error);
  });

  it('says so when the key is encrypted', () => {
    const encrypted = crypto
      .generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    expect(() => loadPrivateKeyPem(encrypted)).toThrow(/encrypted/);
  });
});

describe('publicKeyFromSpki / publicKeyToSpkiDer', () => {
  const spki = (k: crypto.KeyObject): Uint8Array => new Uint8Array(crypto.createPublicKey(k).export({ type: 'spki', format: 'der' }));
  const keys: [string, crypto.KeyObject][] = [
    ['P-256', ec('P-256')()],
    ['P-384', ec('P-384')()],
    ['Ed25519', crypto.generateKeyPairSync('ed25519').privateKey],
    ['RSA', crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
  ];

  it.each(keys)('reads a %s SubjectPublicKeyInfo and writes back the same DER', (_name, k) => {
    const der = spki(k);
    const pub = publicKeyFromSpki(der);
    expect(pub).toBeDefined();
    expect(Buffer.from(publicKeyToSpkiDer(pub!)).equals(Buffer.from(der))).toBe(true);
  });

  it('reads the EC point uncompressed at full length and the RSA modulus as an integer', () => {
    const p256 = publicKeyFromSpki(spki(keys[0]![1]));
    expect(p256?.kind === 'ec' && p256.curve === 'P-256' && p256.point.length === 65 && p256.point[0] === 4).toBe(true);
    const p384 = publicKeyFromSpki(spki(keys[1]![1]));
    expect(p384?.kind === 'ec' && p384.curve === 'P-384' && p384.point.length === 97).toBe(true);
    const rsa = publicKeyFromSpki(spki(keys[3]![1]));
    expect(rsa?.kind === 'rsa' && rsa.e === 65537n && rsa.n.toString(2).length === 1024).toBe(true);
  });

  it('gives undefined, never an exception, for garbage, truncated and unsupported SPKIs', () => {
    const good = spki(keys[0]![1]);
    expect(publicKeyFromSpki(new Uint8Array(0))).toBeUndefined();
    expect(publicKeyFromSpki(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeUndefined();
    expect(publicKeyFromSpki(good.subarray(0, good.length - 1))).toBeUndefined();
    const offCurve = good.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    expect(publicKeyFromSpki(offCurve)).toBeUndefined();
    expect(publicKeyFromSpki(spki(crypto.generateKeyPairSync('ed448').privateKey))).toBeUndefined();
    expect(publicKeyFromSpki(spki(ec('P-521')()))).toBeUndefined();
    expect(publicKeyFromSpki(spki(crypto.generateKeyPairSync('x25519').privateKey))).toBeUndefined();
    let seed = 7;
    for (let i = 0; i < 200; i++) {
      const m = good.slice();
      seed = (seed * 1103515245 + 12345) >>> 0;
      m[seed % m.length] = (seed >>> 8) & 0xff;
      expect(() => publicKeyFromSpki(m)).not.toThrow();
    }
  });
});

describe('generatePrivateKey', () => {
  it.each(['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048'] as const)('makes a usable %s key', (kind) => {
    const material = generatePrivateKey(kind);
    const key = nobleProvider.signingKey(material);
    const msg = new Uint8Array([1, 2, 3]);
    expect(nobleProvider.verify(key.schemes[0]!, key.publicKey, msg, key.sign(key.schemes[0]!, msg))).toBe(true);
    if (material.kind === 'ec') expect(material.d.length).toBe(kind === 'ecdsa-p256' ? 32 : 48);
    if (material.kind === 'rsa') expect(material.n.toString(2).length).toBe(2048);
    if (material.kind === 'ed25519') expect(material.seed.length).toBe(32);
    expect(loadPrivateKeyPem(privateKeyToPem(material))).toEqual(material);
  });
});
