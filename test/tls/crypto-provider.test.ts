// Both CryptoProviders (noble, node) side by side: hashes and HMAC, running transcript hashes, the
// three AEADs (RFC 8439 §2.8.2 and GCM spec vectors), tag checks, and key shares across providers.
import { describe, expect, it } from 'vitest';
import { CipherSuite, NamedGroup } from '../../src/tls/constants.js';
import type { CryptoProvider } from '../../src/tls/crypto/provider.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { nodeProvider } from '../../src/tls/crypto/node.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const PROVIDERS: [string, CryptoProvider][] = [
  ['noble', nobleProvider],
  ['node', nodeProvider],
];

const AEAD_VECTORS = [
  {
    name: 'RFC 8439 §2.8.2 ChaCha20-Poly1305',
    suite: CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
    nonce: '070000004041424344454647',
    aad: '50515253c0c1c2c3c4c5c6c7',
    plaintext: Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.").toString('hex'),
    sealed:
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b' +
      '1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
      '3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691',
  },
  {
    name: 'GCM spec test case 4, AES-128-GCM',
    suite: CipherSuite.TLS_AES_128_GCM_SHA256,
    key: 'feffe9928665731c6d6a8f9467308308',
    nonce: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    plaintext:
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    sealed:
      '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091' +
      '5bc94fbc3221a5db94fae95ae7121a47',
  },
] as const;

describe.each(PROVIDERS)('%s provider', (name, provider) => {
  it('is named for traces and bench figures', () => {
    expect(provider.name).toBe(name);
  });

  it('hashes with SHA-256 and SHA-384 (FIPS 180-4 "abc")', () => {
    expect(toHex(provider.hash('sha256').digest(enc('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(provider.hash('sha384').digest(enc('abc')))).toBe(
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    );
    expect(provider.hash('sha256').outputLen).toBe(32);
    expect(provider.hash('sha384').outputLen).toBe(48);
  });

  it('computes HMAC (RFC 4231 test case 2)', () => {
    const key = enc('Jefe');
    const data = enc('what do ya want for nothing?');
    expect(toHex(provider.hash('sha256').hmac(key, data))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(toHex(provider.hash('sha384').hmac(key, data))).toBe(
      'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    );
  });

  it('keeps a running hash going after peek, and clones it independently', () => {
    const h = provider.hash('sha256').running();
    expect(toHex(h.peek())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    h.update(enc('a'));
    const c = h.clone();
    h.update(enc('bc'));
    expect(toHex(h.peek())).toBe(toHex(provider.hash('sha256').digest(enc('abc'))));
    expect(toHex(h.peek())).toBe(toHex(provider.hash('sha256').digest(enc('abc'))));
    expect(toHex(c.peek())).toBe(toHex(provider.hash('sha256').digest(enc('a'))));
  });

  it.each(AEAD_VECTORS)('seals and opens the $name vector', (v) => {
    const aead = provider.aead(v.suite, hex(v.key));
    expect(aead.keyLen).toBe(v.key.length / 2);
    expect(aead.ivLen).toBe(12);
    expect(aead.tagLen).toBe(16);
    expect(toHex(aead.seal(hex(v.nonce), hex(v.plaintext), hex(v.aad)))).toBe(v.sealed);
    expect(toHex(aead.open(hex(v.nonce), hex(v.sealed), hex(v.aad)))).toBe(v.plaintext);
  });

  it.each(AEAD_VECTORS)('open() gives undefined for the $name vector with a flipped tag bit, other AAD or a short input', (v) => {
    const aead = provider.aead(v.suite, hex(v.key));
    const flipped = hex(v.sealed);
    flipped[flipped.length - 1]! ^= 0x01;
    expect(aead.open(hex(v.nonce), flipped, hex(v.aad))).toBeUndefined();
    const body = hex(v.sealed);
    body[0]! ^= 0x80;
    expect(aead.open(hex(v.nonce), body, hex(v.aad))).toBeUndefined();
    expect(aead.open(hex(v.nonce), hex(v.sealed), new Uint8Array(0))).toBeUndefined();
    expect(aead.open(hex(v.nonce), hex(v.sealed).subarray(0, 15), hex(v.aad))).toBeUndefined();
    expect(aead.open(hex(v.nonce), new Uint8Array(0), hex(v.aad))).toBeUndefined();
  });

  it('seals an empty plaintext to a bare 16-byte tag that opens to nothing', () => {
    for (const suite of [0x1301, 0x1302, 0x1303] as const) {
      const aead = provider.aead(suite, new Uint8Array(suite === 0x1301 ? 16 : 32).fill(3));
      const sealed = aead.seal(new Uint8Array(12), new Uint8Array(0), enc('hdr'));
      expect(sealed.length).toBe(16);
      expect(aead.open(new Uint8Array(12), sealed, enc('hdr'))?.length).toBe(0);
    }
  });

  it('returns random bytes of the asked length', () => {
    expect(provider.randomBytes(0).length).toBe(0);
    const a = provider.randomBytes(32);
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(provider.randomBytes(32)));
  });
});

describe('noble and node agree', () => {
  it('on AEAD seal/open for all three suites, in both directions, at record sizes', () => {
    for (const suite of [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256]) {
      const key = nobleProvider.randomBytes(suite === 0x1301 ? 16 : 32);
      const a = nobleProvider.aead(suite, key);
      const b = nodeProvider.aead(suite, key);
      for (const len of [0, 1, 15, 16, 17, 1000, 16385]) {
        const nonce = nobleProvider.randomBytes(12);
        const aad = Uint8Array.from([23, 3, 3, (len + 16) >> 8, (len + 16) & 0xff]);
        const pt = nobleProvider.randomBytes(len);
        const sealedA = a.seal(nonce, pt, aad);
        expect(toHex(b.seal(nonce, pt, aad)), `${suite} ${len}`).toBe(toHex(sealedA));
        expect(toHex(b.open(nonce, sealedA, aad))).toBe(toHex(pt));
        expect(toHex(a.open(nonce, b.seal(nonce, pt, aad), aad))).toBe(toHex(pt));
      }
    }
  });

  it('on the GCM spec test case 16 (AES-256-GCM)', () => {
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const nonce = hex('cafebabefacedbaddecaf888');
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const pt = hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
    const expected =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b';
    for (const [, p] of PROVIDERS) expect(toHex(p.aead(CipherSuite.TLS_AES_256_GCM_SHA384, key).seal(nonce, pt, aad))).toBe(expected);
  });

  it.each([NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1])('on the shared secret of group %i across providers', (group) => {
    const a = nobleProvider.keyShare(group)!;
    const b = nodeProvider.keyShare(group)!;
    expect(b.publicKey.length).toBe(a.publicKey.length);
    const s1 = a.agree(b.publicKey);
    expect(s1).toBeDefined();
    expect(toHex(b.agree(a.publicKey))).toBe(toHex(s1));
  });

  it('on signatures: each verifies what the other signs', () => {
    for (const kind of ['ec', 'ed25519', 'rsa'] as const) {
      const material =
        kind === 'ec'
          ? { kind, curve: 'P-256' as const, d: hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721') }
          : kind === 'ed25519'
            ? { kind, seed: hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60') }
            : undefined;
      if (material === undefined) continue; // RSA is covered in crypto-signatures.test.ts
      const a = nobleProvider.signingKey(material);
      const b = nodeProvider.signingKey(material);
      expect(b.publicKey).toEqual(a.publicKey);
      const msg = enc('cross-provider');
      const scheme = a.schemes[0]!;
      expect(nodeProvider.verify(scheme, a.publicKey, msg, a.sign(scheme, msg))).toBe(true);
      expect(nobleProvider.verify(scheme, b.publicKey, msg, b.sign(scheme, msg))).toBe(true);
    }
  });

  it('on the RFC 8032 §7.1 test 1 Ed25519 signature (deterministic in both)', () => {
    const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const expected =
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
    for (const [, p] of PROVIDERS) {
      const key = p.signingKey({ kind: 'ed25519', seed });
      expect(toHex(key.publicKey.kind === 'ed25519' ? key.publicKey.key : undefined)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      expect(toHex(key.sign(0x0807, new Uint8Array(0)))).toBe(expected);
    }
  });
});
