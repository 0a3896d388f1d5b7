// The crypto provider interface: everything TLS needs from cryptography, behind one seam so the
// implementation can be measured and swapped (noble by default, see noble.ts). The TLS core only
// ever talks to a CryptoProvider; it never imports a crypto library itself.

import type { CipherSuite, NamedGroup, SignatureScheme } from '../constants.js';

export type HashName = 'sha256' | 'sha384';

/** A running hash whose current digest can be read without ending it (the TLS transcript). */
export interface RunningHash {
  update(data: Uint8Array): void;
  /** Digest of everything so far; the hash keeps running. */
  peek(): Uint8Array;
  clone(): RunningHash;
}

export interface HashAlgorithm {
  readonly name: HashName;
  readonly outputLen: number; // 32 or 48
  digest(data: Uint8Array): Uint8Array;
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
  running(): RunningHash;
}

/** An AEAD keyed once (RFC 8446 §5.2). `open` returns undefined when the tag does not verify. */
export interface Aead {
  readonly keyLen: number;
  readonly ivLen: 12;
  readonly tagLen: 16;
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | undefined;
}

/** An ephemeral (EC)DHE key pair for one group (RFC 8446 §4.2.8). */
export interface KeyShare {
  readonly group: NamedGroup;
  /** The KeyShareEntry.key_exchange bytes: 32 bytes for x25519, 0x04||X||Y for the NIST curves. */
  readonly publicKey: Uint8Array;
  /**
   * The shared secret with a peer's key_exchange, or undefined when the peer's value is invalid:
   * wrong length, not on the curve, the identity, or (x25519) an all-zero result — the caller
   * answers illegal_parameter (RFC 8446 §4.2.8.1, §4.2.8.2, §7.4.2).
   */
  agree(peerPublic: Uint8Array): Uint8Array | undefined;
}

/** A public key as found in a certificate's SubjectPublicKeyInfo. */
export type PublicKey =
  | { kind: 'ec'; curve: 'P-256' | 'P-384'; point: Uint8Array /* uncompressed 0x04||X||Y */ }
  | { kind: 'ed25519'; key: Uint8Array /* 32 bytes */ }
  | { kind: 'rsa'; n: bigint; e: bigint };

/** A private key able to sign CertificateVerify (and certificates, for the local CA). */
export interface SigningKey {
  readonly publicKey: PublicKey;
  /** The TLS 1.3 signature schemes this key can produce, preferred first. */
  readonly schemes: readonly SignatureScheme[];
  /** Signs `message` (the full content, not a digest) with `scheme`; throws if the scheme is not in `schemes`. */
  sign(scheme: SignatureScheme, message: Uint8Array): Uint8Array;
}

/** Private key material, as loaded from PEM (see keys.ts) or generated. */
export type PrivateKeyMaterial =
  | { kind: 'ec'; curve: 'P-256' | 'P-384'; d: Uint8Array }
  | { kind: 'ed25519'; seed: Uint8Array }
  | { kind: 'rsa'; n: bigint; e: bigint; d: bigint; p: bigint; q: bigint; dp: bigint; dq: bigint; qi: bigint };

export interface CryptoProvider {
  /** Shown in traces and bench figures ("noble", "node"). */
  readonly name: string;
  hash(name: HashName): HashAlgorithm;
  /** An AEAD for a suite's algorithm with this key (RFC 8446 §5.3). */
  aead(suite: CipherSuite, key: Uint8Array): Aead;
  /** A fresh ephemeral key share for a group; undefined when the group is not supported. */
  keyShare(group: NamedGroup): KeyShare | undefined;
  /** A signing key for loaded key material. */
  signingKey(material: PrivateKeyMaterial): SigningKey;
  /**
   * Verifies a signature made with `scheme` by `key` over `message` (the full content).
   * Returns false for a bad signature, a scheme that does not fit the key, or a malformed key/signature —
   * never throws on peer input. Covers the TLS 1.3 schemes and, for certificate chains,
   * rsa_pkcs1_sha256/384/512 and ecdsa with SHA-256/384.
   */
  verify(scheme: SignatureScheme, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean;
  randomBytes(n: number): Uint8Array;
}

/** RFC 8446 §B.4: the hash of each suite. */
export function suiteHash(suite: CipherSuite): HashName {
  return suite === 0x1302 ? 'sha384' : 'sha256';
}
/** RFC 8446 §B.4: the AEAD key length of each suite. */
export function suiteKeyLen(suite: CipherSuite): number {
  return suite === 0x1301 ? 16 : 32;
}
