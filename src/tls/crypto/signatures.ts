// Signing keys and signature verification for the TLS 1.3 SignatureSchemes (RFC 8446 §4.2.3,
// §4.4.3) and the certificate-chain algorithms, on @noble/curves (ECDSA, Ed25519) and rsa.ts.

import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { SignatureScheme } from '../constants.js';
import type { PrivateKeyMaterial, PublicKey, SigningKey } from './provider.js';
import {
  type RsaHash,
  type RsaPrivateKey,
  type RsaPublicKey,
  isUsableRsaPublicKey,
  rsaSignPkcs1,
  rsaSignPss,
  rsaVerifyPkcs1,
  rsaVerifyPss,
} from './rsa.js';

/** How a scheme signs: the algorithm family and the hash. Undefined for schemes tunstack does not do. */
export type SchemeInfo =
  | { alg: 'ecdsa'; hash: 'sha256' | 'sha384'; curve: 'P-256' | 'P-384' }
  | { alg: 'ed25519' }
  | { alg: 'rsa-pss'; hash: RsaHash }
  | { alg: 'rsa-pkcs1'; hash: RsaHash };

/** RFC 8446 §4.2.3: what each supported SignatureScheme code point means. */
export function schemeInfo(scheme: SignatureScheme): SchemeInfo | undefined {
  switch (scheme) {
    case SignatureScheme.ecdsa_secp256r1_sha256:
      return { alg: 'ecdsa', hash: 'sha256', curve: 'P-256' };
    case SignatureScheme.ecdsa_secp384r1_sha384:
      return { alg: 'ecdsa', hash: 'sha384', curve: 'P-384' };
    case SignatureScheme.ed25519:
      return { alg: 'ed25519' };
    case SignatureScheme.rsa_pss_rsae_sha256:
      return { alg: 'rsa-pss', hash: 'sha256' };
    case SignatureScheme.rsa_pss_rsae_sha384:
      return { alg: 'rsa-pss', hash: 'sha384' };
    case SignatureScheme.rsa_pss_rsae_sha512:
      return { alg: 'rsa-pss', hash: 'sha512' };
    case SignatureScheme.rsa_pkcs1_sha256:
      return { alg: 'rsa-pkcs1', hash: 'sha256' };
    case SignatureScheme.rsa_pkcs1_sha384:
      return { alg: 'rsa-pkcs1', hash: 'sha384' };
    case SignatureScheme.rsa_pkcs1_sha512:
      return { alg: 'rsa-pkcs1', hash: 'sha512' };
    default:
      return undefined; // ecdsa_secp521r1_sha512, ed448, rsa_pss_pss_*: not implemented
  }
}

/**
 * The strict TLS 1.3 CertificateVerify rule (RFC 8446 §4.2.3, §4.4.3): the scheme names the
 * curve for ECDSA, and rsa_pkcs1_* "MUST NOT" be used there. The handshake should check this in
 * addition to `verifySignature`, which is deliberately lenient about the ECDSA curve/hash pairing
 * because certificate chains combine them freely (e.g. a P-384 CA signing with ecdsa-with-SHA256).
 */
export function schemeFitsKeyForCertificateVerify(scheme: SignatureScheme, key: PublicKey): boolean {
  const info = schemeInfo(scheme);
  if (info === undefined) return false;
  switch (info.alg) {
    case 'ecdsa':
      return key.kind === 'ec' && key.curve === info.curve;
    case 'ed25519':
      return key.kind === 'ed25519';
    case 'rsa-pss':
      return key.kind === 'rsa';
    case 'rsa-pkcs1':
      return false; // RFC 8446 §4.2.3: only for signatures in certificates
  }
}

function ecdsaDigest(hash: 'sha256' | 'sha384', message: Uint8Array): Uint8Array {
  return hash === 'sha256' ? sha256(message) : sha384(message);
}

function ecCurve(curve: 'P-256' | 'P-384'): typeof p256 {
  return curve === 'P-256' ? p256 : p384;
}

/**
 * Verifies `signature` by `key` over `message` (the full content) for `scheme`. Never throws; any
 * malformed key or signature, or a scheme that does not fit the key, gives false.
 *
 * ECDSA: the scheme id picks the hash (0x0403 → SHA-256, 0x0503 → SHA-384) and the key picks the
 * curve, so P-256+SHA-384 and P-384+SHA-256 (certificate-chain combinations) verify too; the
 * signature is the DER `ECDSA-Sig-Value` (RFC 8446 §4.2.3) and high-S values are accepted, as
 * OpenSSL produces them.
 */
export function verifySignature(
  scheme: SignatureScheme,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const info = schemeInfo(scheme);
  if (info === undefined) return false;
  try {
    switch (info.alg) {
      case 'ecdsa': {
        if (key.kind !== 'ec') return false;
        const expectedLen = key.curve === 'P-256' ? 65 : 97;
        if (key.point.length !== expectedLen || key.point[0] !== 0x04) return false;
        // FIPS 186-4 §6.4: the digest is truncated to the order's bit length inside noble.
        return ecCurve(key.curve).verify(signature, ecdsaDigest(info.hash, message), key.point, {
          prehash: false,
          format: 'der',
          lowS: false,
        });
      }
      case 'ed25519':
        if (key.kind !== 'ed25519' || key.key.length !== 32 || signature.length !== 64) return false;
        // RFC 8032 §5.1.7 strict verification (not ZIP-215), like OpenSSL.
        return ed25519.verify(signature, message, key.key, { zip215: false });
      case 'rsa-pss':
        if (key.kind !== 'rsa' || !isUsableRsaPublicKey(key)) return false;
        // RFC 8446 §4.2.3: salt length equal to the digest length, MGF1 with the same hash.
        return rsaVerifyPss(key, info.hash, message, signature);
      case 'rsa-pkcs1':
        if (key.kind !== 'rsa' || !isUsableRsaPublicKey(key)) return false;
        return rsaVerifyPkcs1(key, info.hash, message, signature);
    }
  } catch {
    return false;
  }
}

const EC_SIGN_SCHEMES: readonly SignatureScheme[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
];
const RSA_PKCS1_SCHEMES: readonly SignatureScheme[] = [
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];

class EcSigningKey implements SigningKey {
  readonly publicKey: PublicKey;
  readonly schemes: readonly SignatureScheme[];
  constructor(
    private readonly curve: 'P-256' | 'P-384',
    private readonly d: Uint8Array,
  ) {
    this.publicKey = { kind: 'ec', curve, point: ecCurve(curve).getPublicKey(d, false) };
    this.schemes = [curve === 'P-256' ? SignatureScheme.ecdsa_secp256r1_sha256 : SignatureScheme.ecdsa_secp384r1_sha384];
  }
  sign(scheme: SignatureScheme, message: Uint8Array): Uint8Array {
    // Both ECDSA hashes are allowed for either curve: certificates are signed ecdsa-with-SHA256.
    const info = schemeInfo(scheme);
    if (info?.alg !== 'ecdsa' || !EC_SIGN_SCHEMES.includes(scheme)) {
      throw new Error(`an ECDSA ${this.curve} key cannot sign with scheme 0x${scheme.toString(16).padStart(4, '0')}`);
    }
    // RFC 8446 §4.2.3: DER-encoded ECDSA-Sig-Value; deterministic k (RFC 6979).
    return ecCurve(this.curve).sign(ecdsaDigest(info.hash, message), this.d, { prehash: false, format: 'der' });
  }
}

class Ed25519SigningKey implements SigningKey {
  readonly publicKey: PublicKey;
  readonly schemes: readonly SignatureScheme[] = [SignatureScheme.ed25519];
  constructor(private readonly seed: Uint8Array) {
    this.publicKey = { kind: 'ed25519', key: ed25519.getPublicKey(seed) };
  }
  sign(scheme: SignatureScheme, message: Uint8Array): Uint8Array {
    if (scheme !== SignatureScheme.ed25519) {
      throw new Error(`an Ed25519 key cannot sign with scheme 0x${scheme.toString(16).padStart(4, '0')}`);
    }
    return ed25519.sign(message, this.seed); // RFC 8032 §5.1.6
  }
}

class RsaSigningKey implements SigningKey {
  readonly publicKey: PublicKey;
  readonly schemes: readonly SignatureScheme[] = [
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
  ];
  constructor(private readonly key: RsaPrivateKey) {
    const pub: RsaPublicKey = { n: key.n, e: key.e };
    this.publicKey = { kind: 'rsa', ...pub };
  }
  sign(scheme: SignatureScheme, message: Uint8Array): Uint8Array {
    const info = schemeInfo(scheme);
    if (info?.alg === 'rsa-pss') return rsaSignPss(this.key, info.hash, message);
    // rsa_pkcs1_* only for certificates (the local CA), never for CertificateVerify (RFC 8446 §4.2.3).
    if (info?.alg === 'rsa-pkcs1' && RSA_PKCS1_SCHEMES.includes(scheme)) return rsaSignPkcs1(this.key, info.hash, message);
    throw new Error(`an RSA key cannot sign with scheme 0x${scheme.toString(16).padStart(4, '0')}`);
  }
}

/** A SigningKey for loaded or generated key material. Throws on invalid material (a local error). */
export function createSigningKey(material: PrivateKeyMaterial): SigningKey {
  switch (material.kind) {
    case 'ec': {
      const len = material.curve === 'P-256' ? 32 : 48;
      if (material.d.length !== len) throw new Error(`an ECDSA ${material.curve} private key must be ${len} bytes`);
      return new EcSigningKey(material.curve, material.d.slice());
    }
    case 'ed25519':
      if (material.seed.length !== 32) throw new Error('an Ed25519 private key must be a 32-byte seed');
      return new Ed25519SigningKey(material.seed.slice());
    case 'rsa':
      if (!isUsableRsaPublicKey(material)) throw new Error('the RSA private key has an unusable modulus or exponent');
      return new RsaSigningKey(material);
  }
}
