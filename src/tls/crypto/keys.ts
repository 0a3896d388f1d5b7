// Key-file handling: PEM private keys (PKCS#8, SEC1, PKCS#1) to PrivateKeyMaterial and back,
// SubjectPublicKeyInfo <-> PublicKey, and key generation — via node:crypto's parsers and JWK export.

import {
  type JsonWebKey,
  type KeyObject,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import type { PrivateKeyMaterial, PublicKey } from './provider.js';
import { isValidNistPoint } from './ecdhe.js';

export type KeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa-2048';

/** base64url (RFC 7515 §2, no padding) → bytes. */
export function b64uToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
export function bytesToB64u(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
}
/** RFC 7518 §6.3: JWK RSA parameters are unsigned big-endian integers in base64url. */
function b64uToBigInt(s: string): bigint {
  const hex = Buffer.from(s, 'base64url').toString('hex');
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}
function bigIntToB64u(x: bigint): string {
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  return Buffer.from(hex, 'hex').toString('base64url');
}
/** Left-pads to `len` bytes (JWK EC coordinates are fixed-length, RFC 7518 §6.2.1.2). */
function padTo(b: Uint8Array, len: number): Uint8Array {
  if (b.length >= len) return b;
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

function curveLen(curve: 'P-256' | 'P-384'): number {
  return curve === 'P-256' ? 32 : 48;
}

/** The JWK of a private key (RFC 7518 §6), as node:crypto imports it. */
export function privateKeyToJwk(material: PrivateKeyMaterial): JsonWebKey {
  switch (material.kind) {
    case 'ec': {
      const point = (material.curve === 'P-256' ? p256 : p384).getPublicKey(material.d, false);
      const len = curveLen(material.curve);
      return {
        kty: 'EC',
        crv: material.curve,
        d: bytesToB64u(material.d),
        x: bytesToB64u(point.subarray(1, 1 + len)),
        y: bytesToB64u(point.subarray(1 + len)),
      };
    }
    case 'ed25519':
      // RFC 8037 §2: OKP with crv Ed25519, d = the 32-byte seed, x = the public key.
      return { kty: 'OKP', crv: 'Ed25519', d: bytesToB64u(material.seed), x: bytesToB64u(ed25519.getPublicKey(material.seed)) };
    case 'rsa':
      return {
        kty: 'RSA',
        n: bigIntToB64u(material.n),
        e: bigIntToB64u(material.e),
        d: bigIntToB64u(material.d),
        p: bigIntToB64u(material.p),
        q: bigIntToB64u(material.q),
        dp: bigIntToB64u(material.dp),
        dq: bigIntToB64u(material.dq),
        qi: bigIntToB64u(material.qi),
      };
  }
}

/** The JWK of a public key. */
export function publicKeyToJwk(key: PublicKey): JsonWebKey {
  switch (key.kind) {
    case 'ec': {
      const len = curveLen(key.curve);
      return {
        kty: 'EC',
        crv: key.curve,
        x: bytesToB64u(key.point.subarray(1, 1 + len)),
        y: bytesToB64u(key.point.subarray(1 + len, 1 + 2 * len)),
      };
    }
    case 'ed25519':
      return { kty: 'OKP', crv: 'Ed25519', x: bytesToB64u(key.key) };
    case 'rsa':
      return { kty: 'RSA', n: bigIntToB64u(key.n), e: bigIntToB64u(key.e) };
  }
}

/** Private key material from a node KeyObject; undefined for key types tunstack does not use. */
export function materialFromKeyObject(key: KeyObject): PrivateKeyMaterial | undefined {
  if (key.type !== 'private') return undefined;
  const type = key.asymmetricKeyType;
  // JWK export throws for types without a JWK form (dsa, rsa-pss, dh): look at the type first.
  if (type !== 'ec' && type !== 'ed25519' && type !== 'rsa') return undefined;
  const jwk = key.export({ format: 'jwk' });
  switch (key.asymmetricKeyType) {
    case 'ec': {
      if ((jwk.crv !== 'P-256' && jwk.crv !== 'P-384') || typeof jwk.d !== 'string') return undefined;
      return { kind: 'ec', curve: jwk.crv, d: padTo(b64uToBytes(jwk.d), curveLen(jwk.crv)) };
    }
    case 'ed25519':
      if (typeof jwk.d !== 'string') return undefined;
      return { kind: 'ed25519', seed: b64uToBytes(jwk.d) };
    case 'rsa': {
      const { n, e, d, p, q, dp, dq, qi } = jwk;
      if (![n, e, d, p, q, dp, dq, qi].every((v) => typeof v === 'string')) return undefined;
      return {
        kind: 'rsa',
        n: b64uToBigInt(n!),
        e: b64uToBigInt(e!),
        d: b64uToBigInt(d!),
        p: b64uToBigInt(p!),
        q: b64uToBigInt(q!),
        dp: b64uToBigInt(dp!),
        dq: b64uToBigInt(dq!),
        qi: b64uToBigInt(qi!),
      };
    }
    default:
      return undefined; // rsa-pss (id-RSASSA-PSS keys), ed448, x25519, dsa, dh …
  }
}

/** A PublicKey from a node KeyObject (public or private); undefined for unsupported key types. */
export function publicKeyFromKeyObject(key: KeyObject): PublicKey | undefined {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const type = pub.asymmetricKeyType;
  if (type !== 'ec' && type !== 'ed25519' && type !== 'rsa') return undefined;
  const jwk = pub.export({ format: 'jwk' });
  switch (pub.asymmetricKeyType) {
    case 'ec': {
      if ((jwk.crv !== 'P-256' && jwk.crv !== 'P-384') || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
        return undefined;
      }
      const len = curveLen(jwk.crv);
      const point = new Uint8Array(1 + 2 * len);
      point[0] = 0x04; // SEC 1 §2.3.3 uncompressed
      point.set(padTo(b64uToBytes(jwk.x), len), 1);
      point.set(padTo(b64uToBytes(jwk.y), len), 1 + len);
      if (!isValidNistPoint(jwk.crv, point)) return undefined;
      return { kind: 'ec', curve: jwk.crv, point };
    }
    case 'ed25519': {
      if (typeof jwk.x !== 'string') return undefined;
      const k = b64uToBytes(jwk.x);
      return k.length === 32 ? { kind: 'ed25519', key: k } : undefined;
    }
    case 'rsa':
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return undefined;
      return { kind: 'rsa', n: b64uToBigInt(jwk.n), e: b64uToBigInt(jwk.e) };
    default:
      return undefined;
  }
}

/**
 * Loads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1
 * ("RSA PRIVATE KEY"). Throws an Error with a message for a person when the PEM cannot be read
 * or holds a key type tunstack cannot use. `source` names the file in the message.
 */
export function loadPrivateKeyPem(pem: string, source = 'key.pem'): PrivateKeyMaterial {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (/passphrase|encrypted/i.test(why) || /ENCRYPTED/.test(pem)) {
      throw new Error(`${source} is an encrypted private key; decrypt it first (openssl pkey -in ${source} -out plain.pem)`);
    }
    throw new Error(`${source} does not hold a readable PEM private key (${why})`);
  }
  let material: PrivateKeyMaterial | undefined;
  try {
    material = materialFromKeyObject(key);
  } catch {
    material = undefined; // e.g. an EC curve without a JWK name (brainpool)
  }
  if (material === undefined) {
    const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${String(key.asymmetricKeyDetails?.namedCurve)}` : `a ${String(key.asymmetricKeyType)} key`;
    throw new Error(`${source} is not an ECDSA P-256/P-384, Ed25519 or RSA private key (it is ${what})`);
  }
  return material;
}

/** Writes key material as an unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). */
export function privateKeyToPem(material: PrivateKeyMaterial): string {
  const key = createPrivateKey({ key: privateKeyToJwk(material), format: 'jwk' });
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * The PublicKey in a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), or undefined when it is
 * malformed or not an id-ecPublicKey P-256/P-384, Ed25519 (RFC 8410) or rsaEncryption key.
 * Never throws.
 */
export function publicKeyFromSpki(spkiDer: Uint8Array): PublicKey | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    return publicKeyFromKeyObject(key);
  } catch {
    return undefined;
  }
}

/** The DER SubjectPublicKeyInfo of a public key (for building certificates). */
export function publicKeyToSpkiDer(key: PublicKey): Uint8Array {
  const obj = createPublicKey({ key: publicKeyToJwk(key), format: 'jwk' });
  return new Uint8Array(obj.export({ type: 'spki', format: 'der' }));
}

/** A fresh private key (node:crypto's generator: OpenSSL's prime generation for RSA, e = 65537). */
export function generatePrivateKey(kind: KeyKind): PrivateKeyMaterial {
  let privateKey: KeyObject;
  switch (kind) {
    case 'ecdsa-p256':
      ({ privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
      break;
    case 'ecdsa-p384':
      ({ privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' }));
      break;
    case 'ed25519':
      ({ privateKey } = generateKeyPairSync('ed25519'));
      break;
    case 'rsa-2048':
      ({ privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }));
      break;
  }
  const material = materialFromKeyObject(privateKey);
  if (material === undefined) throw new Error(`generating a ${kind} key gave an unexpected key type`);
  return material;
}
