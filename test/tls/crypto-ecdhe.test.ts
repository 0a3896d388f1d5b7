// (EC)DHE key shares (src/tls/crypto/ecdhe.ts): RFC 7748 §6.1 and RFC 8448 known answers, agreement
// both ways on every group, and peer values that must be refused (RFC 8446 §4.2.8.2, §7.4.2).
import { describe, expect, it } from 'vitest';
import { createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NamedGroup } from '../../src/tls/constants.js';
import { createKeyShare, supportedGroups } from '../../src/tls/crypto/ecdhe.js';
import { nodeProvider } from '../../src/tls/crypto/node.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc8448-simple-1rtt.json', import.meta.url), 'utf8')) as Record<string, string>;

describe('x25519', () => {
  it('matches the RFC 7748 §6.1 Diffie-Hellman example', () => {
    const alice = createKeyShare(NamedGroup.x25519, hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'))!;
    const bob = createKeyShare(NamedGroup.x25519, hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'))!;
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(alice.agree(bob.publicKey))).toBe(k);
    expect(toHex(bob.agree(alice.publicKey))).toBe(k);
  });

  it('derives the RFC 8448 §3 ECDHE shared secret from the client and server keys', () => {
    const client = createKeyShare(NamedGroup.x25519, hex(vectors.client_x25519_private_key!))!;
    const server = createKeyShare(NamedGroup.x25519, hex(vectors.server_x25519_private_key!))!;
    expect(toHex(client.publicKey)).toBe(vectors.client_x25519_public_key);
    expect(toHex(server.publicKey)).toBe(vectors.server_x25519_public_key);
    expect(toHex(client.agree(server.publicKey))).toBe(vectors.ecdhe_shared_secret);
    expect(toHex(server.agree(client.publicKey))).toBe(vectors.ecdhe_shared_secret);
  });

  it('refuses a peer key of the wrong length', () => {
    const share = createKeyShare(NamedGroup.x25519)!;
    for (const len of [0, 1, 31, 33, 65]) expect(share.agree(new Uint8Array(len).fill(9))).toBeUndefined();
  });

  it('refuses low-order peer points whose shared secret would be all zero (RFC 7748 §6.1)', () => {
    const share = createKeyShare(NamedGroup.x25519)!;
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000', // 0
      '0100000000000000000000000000000000000000000000000000000000000000', // 1
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (≡ 0)
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (≡ 1)
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880', // order 8 with the top bit set (masked, RFC 7748 §5)
    ];
    for (const u of lowOrder) {
      expect(share.agree(hex(u)), u).toBeUndefined();
      expect(nodeProvider.keyShare(NamedGroup.x25519)!.agree(hex(u)), `node ${u}`).toBeUndefined();
    }
  });
});

describe.each([
  ['secp256r1', NamedGroup.secp256r1, 'prime256v1', 32],
  ['secp384r1', NamedGroup.secp384r1, 'secp384r1', 48],
] as const)('%s', (_name, group, nodeCurve, len) => {
  it('publishes an uncompressed point 0x04||X||Y', () => {
    const share = createKeyShare(group)!;
    expect(share.group).toBe(group);
    expect(share.publicKey.length).toBe(1 + 2 * len);
    expect(share.publicKey[0]).toBe(0x04);
  });

  it('agrees both ways, and the secret is the X coordinate only (RFC 8446 §7.4.1), as OpenSSL computes it', () => {
    const ours = createKeyShare(group)!;
    const theirs = createECDH(nodeCurve);
    const theirPublic = new Uint8Array(theirs.generateKeys());
    const secret = ours.agree(theirPublic)!;
    expect(secret.length).toBe(len);
    expect(toHex(secret)).toBe(theirs.computeSecret(ours.publicKey).toString('hex'));
    const other = createKeyShare(group)!;
    expect(toHex(other.agree(ours.publicKey))).toBe(toHex(ours.agree(other.publicKey)));
  });

  it('refuses compressed, hybrid, off-curve, out-of-range, identity-like and wrong-length peer points', () => {
    const share = createKeyShare(group)!;
    const good = createKeyShare(group)!.publicKey;
    const compressed = new Uint8Array(theirCompressed(nodeCurve));
    const hybrid = good.slice();
    hybrid[0] = 0x06 | (good[good.length - 1]! & 1);
    const offCurve = good.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    const zeroPoint = new Uint8Array(1 + 2 * len);
    zeroPoint[0] = 0x04; // (0, 0) is not on either curve
    const xTooBig = new Uint8Array(1 + 2 * len).fill(0xff);
    xTooBig[0] = 0x04;
    const bad = [compressed, hybrid, offCurve, zeroPoint, xTooBig, new Uint8Array([0x00]), new Uint8Array(0), good.subarray(0, good.length - 1), Uint8Array.from([...good, 0])];
    for (const b of bad) {
      expect(share.agree(b), toHex(b)).toBeUndefined();
      expect(nodeProvider.keyShare(group)!.agree(b), `node ${toHex(b)}`).toBeUndefined();
    }
    expect(share.agree(good)).toBeDefined();
  });
});

function theirCompressed(curve: string): Buffer {
  const e = createECDH(curve);
  e.generateKeys();
  return e.getPublicKey(null, 'compressed');
}

describe('createKeyShare', () => {
  it('supports x25519, secp256r1 and secp384r1 and nothing else', () => {
    expect([...supportedGroups].sort()).toEqual([NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x25519].sort());
    expect(createKeyShare(NamedGroup.x448)).toBeUndefined();
    expect(createKeyShare(NamedGroup.secp521r1)).toBeUndefined();
    expect(nodeProvider.keyShare(NamedGroup.x448)).toBeUndefined();
  });

  it('makes a fresh key for every share', () => {
    expect(toHex(createKeyShare(NamedGroup.x25519)!.publicKey)).not.toBe(toHex(createKeyShare(NamedGroup.x25519)!.publicKey));
  });

  it('never throws on random peer bytes of any length', () => {
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (const group of supportedGroups) {
      const share = createKeyShare(group)!;
      for (let i = 0; i < 60; i++) {
        const b = new Uint8Array([32, 65, 97, 33, 49, i][i % 6]!).map(rnd);
        if (i % 3 === 0 && b.length > 0) b[0] = 0x04;
        expect(() => share.agree(b)).not.toThrow();
      }
    }
  });
});
