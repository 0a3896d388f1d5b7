// Ephemeral (EC)DHE key shares for TLS 1.3 (RFC 8446 §4.2.8, §7.4) on @noble/curves: x25519,
// secp256r1 and secp384r1. Peer values are validated here and never make this module throw.

import { x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { NamedGroup } from '../constants.js';
import type { KeyShare } from './provider.js';

/** The groups createKeyShare supports, in tunstack's preference order. */
export const supportedGroups: readonly NamedGroup[] = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1];

/** Length of the KeyShareEntry.key_exchange for a group, or undefined for unsupported groups. */
export function keyShareLength(group: NamedGroup): number | undefined {
  switch (group) {
    case NamedGroup.x25519:
      return 32; // RFC 8446 §4.2.8.2 / RFC 7748 §5: 32-byte u-coordinate
    case NamedGroup.secp256r1:
      return 65; // RFC 8446 §4.2.8.2: 1 + 2 * 32, uncompressed
    case NamedGroup.secp384r1:
      return 97; // 1 + 2 * 48
    default:
      return undefined;
  }
}

/** True when every byte is zero, in time independent of the contents. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/**
 * Validates a peer's NIST-curve key_exchange (RFC 8446 §4.2.8.2): exactly 0x04||X||Y, with X and Y
 * in range and the point on the curve and not the identity. Returns true when acceptable.
 */
export function isValidNistPoint(curve: 'P-256' | 'P-384', peer: Uint8Array): boolean {
  const len = curve === 'P-256' ? 65 : 97;
  // RFC 8446 §4.2.8.2: "the point MUST be ... UncompressedPointRepresentation"; legacy_form = 4.
  if (peer.length !== len || peer[0] !== 0x04) return false;
  try {
    const point = (curve === 'P-256' ? p256 : p384).Point.fromBytes(peer);
    point.assertValidity(); // RFC 8446 §4.2.8.2: peers "MUST validate" the point is on the curve
    return !point.is0(); // not the point at infinity
  } catch {
    return false;
  }
}

/** Validates an x25519 key_exchange by length only (RFC 7748 §5: all 32-byte strings are accepted). */
export function isValidX25519Public(peer: Uint8Array): boolean {
  return peer.length === 32;
}

class X25519Share implements KeyShare {
  readonly group = NamedGroup.x25519;
  readonly publicKey: Uint8Array;
  private readonly secret: Uint8Array;
  constructor(secret?: Uint8Array) {
    this.secret = secret ?? x25519.utils.randomSecretKey();
    this.publicKey = x25519.getPublicKey(this.secret);
  }
  agree(peerPublic: Uint8Array): Uint8Array | undefined {
    if (!isValidX25519Public(peerPublic)) return undefined;
    let shared: Uint8Array;
    try {
      // noble rejects the known low-order u-coordinates up front by throwing.
      shared = x25519.getSharedSecret(this.secret, peerPublic);
    } catch {
      return undefined;
    }
    // RFC 7748 §6.1 / RFC 8446 §7.4.2: "implementations MUST check whether the computed
    // Diffie-Hellman shared secret is the all-zero value and abort if so".
    if (isAllZero(shared)) return undefined;
    return shared;
  }
}

class NistShare implements KeyShare {
  readonly group: NamedGroup;
  readonly publicKey: Uint8Array;
  private readonly secret: Uint8Array;
  constructor(
    private readonly curve: 'P-256' | 'P-384',
    secret?: Uint8Array,
  ) {
    const c = curve === 'P-256' ? p256 : p384;
    this.group = curve === 'P-256' ? NamedGroup.secp256r1 : NamedGroup.secp384r1;
    this.secret = secret ?? c.utils.randomSecretKey();
    this.publicKey = c.getPublicKey(this.secret, false); // 0x04||X||Y
  }
  agree(peerPublic: Uint8Array): Uint8Array | undefined {
    if (!isValidNistPoint(this.curve, peerPublic)) return undefined;
    try {
      const point = (this.curve === 'P-256' ? p256 : p384).getSharedSecret(this.secret, peerPublic, true);
      // RFC 8446 §7.4.1: "the shared secret is the x-coordinate of the ECDH shared secret
      // elliptic curve point" — drop the one-byte compressed-form prefix.
      return point.slice(1);
    } catch {
      return undefined;
    }
  }
}

/**
 * A fresh ephemeral key share for `group`, or undefined when the group is not supported.
 * `secret` fixes the private scalar (known-answer tests such as RFC 7748 §6.1 and RFC 8448 only):
 * 32 bytes for x25519, 32/48 big-endian bytes in [1, n-1] for P-256/P-384; a bad one throws.
 */
export function createKeyShare(group: NamedGroup, secret?: Uint8Array): KeyShare | undefined {
  if (secret !== undefined && secret.length !== (group === NamedGroup.secp384r1 ? 48 : 32)) {
    throw new Error(`a fixed key-share secret for group 0x${group.toString(16)} has the wrong length`);
  }
  switch (group) {
    case NamedGroup.x25519:
      return new X25519Share(secret?.slice());
    case NamedGroup.secp256r1:
      return new NistShare('P-256', secret?.slice());
    case NamedGroup.secp384r1:
      return new NistShare('P-384', secret?.slice());
    default:
      return undefined;
  }
}
