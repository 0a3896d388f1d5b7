// A CryptoProvider on node:crypto (OpenSSL), for benchmarks against the default noble provider.
// Same validation semantics as noble.ts: peer key shares and signatures are checked the same way.

import {
  type ECDH,
  type Hash,
  type KeyObject,
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { CipherSuite, NamedGroup, type SignatureScheme } from '../constants.js';
import type {
  Aead,
  CryptoProvider,
  HashAlgorithm,
  HashName,
  KeyShare,
  PrivateKeyMaterial,
  PublicKey,
  RunningHash,
  SigningKey,
} from './provider.js';
import { isAllZero, isValidNistPoint, isValidX25519Public } from './ecdhe.js';
import { b64uToBytes, bytesToB64u, privateKeyToJwk, publicKeyToJwk } from './keys.js';
import { isUsableRsaPublicKey } from './rsa.js';
import { createSigningKey, schemeInfo } from './signatures.js';

/** A plain Uint8Array copy of a Buffer (Buffers from node:crypto may view a shared pool). */
function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b);
}

class NodeRunningHash implements RunningHash {
  constructor(private readonly h: Hash) {}
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  peek(): Uint8Array {
    return u8(this.h.copy().digest());
  }
  clone(): RunningHash {
    return new NodeRunningHash(this.h.copy());
  }
}

function hashAlgorithm(name: HashName): HashAlgorithm {
  return {
    name,
    outputLen: name === 'sha384' ? 48 : 32,
    digest: (data) => u8(createHash(name).update(data).digest()),
    hmac: (key, data) => u8(createHmac(name, key).update(data).digest()),
    running: () => new NodeRunningHash(createHash(name)),
  };
}
const SHA256 = hashAlgorithm('sha256');
const SHA384 = hashAlgorithm('sha384');

type NodeAeadName = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

class NodeAead implements Aead {
  readonly ivLen = 12 as const;
  readonly tagLen = 16 as const;
  constructor(
    private readonly alg: NodeAeadName,
    private readonly key: Uint8Array,
  ) {}
  get keyLen(): number {
    return this.key.length;
  }
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    // The option object is typed per algorithm family in @types/node; both take authTagLength.
    const c = createCipheriv(this.alg as 'aes-128-gcm', this.key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    const head = c.update(plaintext);
    const tail = c.final();
    const tag = c.getAuthTag();
    const out = new Uint8Array(head.length + tail.length + 16);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(tag, head.length + tail.length);
    return out;
  }
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    if (ciphertext.length < 16 || nonce.length !== 12) return undefined;
    const body = ciphertext.subarray(0, ciphertext.length - 16);
    try {
      const d = createDecipheriv(this.alg as 'aes-128-gcm', this.key, nonce, { authTagLength: 16 });
      d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      d.setAAD(aad, { plaintextLength: body.length });
      const head = d.update(body);
      const tail = d.final(); // throws on a tag mismatch
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    } catch {
      return undefined; // bad_record_mac for the caller
    }
  }
}

function aeadName(suite: CipherSuite): NodeAeadName {
  switch (suite) {
    case CipherSuite.TLS_AES_128_GCM_SHA256:
      return 'aes-128-gcm';
    case CipherSuite.TLS_AES_256_GCM_SHA384:
      return 'aes-256-gcm';
    case CipherSuite.TLS_CHACHA20_POLY1305_SHA256:
      return 'chacha20-poly1305';
  }
}

class NodeX25519Share implements KeyShare {
  readonly group = NamedGroup.x25519;
  readonly publicKey: Uint8Array;
  private readonly privateKey: KeyObject;
  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    this.privateKey = privateKey;
    this.publicKey = b64uToBytes(publicKey.export({ format: 'jwk' }).x!);
  }
  agree(peerPublic: Uint8Array): Uint8Array | undefined {
    if (!isValidX25519Public(peerPublic)) return undefined;
    try {
      const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: bytesToB64u(peerPublic) }, format: 'jwk' });
      const shared = u8(diffieHellman({ privateKey: this.privateKey, publicKey }));
      // RFC 7748 §6.1 / RFC 8446 §7.4.2: abort on an all-zero shared secret.
      return isAllZero(shared) ? undefined : shared;
    } catch {
      return undefined; // OpenSSL refuses the all-zero result itself
    }
  }
}

class NodeNistShare implements KeyShare {
  readonly group: NamedGroup;
  readonly publicKey: Uint8Array;
  private readonly ecdh: ECDH;
  constructor(private readonly curve: 'P-256' | 'P-384') {
    this.group = curve === 'P-256' ? NamedGroup.secp256r1 : NamedGroup.secp384r1;
    this.ecdh = createECDH(curve === 'P-256' ? 'prime256v1' : 'secp384r1');
    this.publicKey = u8(this.ecdh.generateKeys()); // uncompressed 0x04||X||Y by default
  }
  agree(peerPublic: Uint8Array): Uint8Array | undefined {
    // RFC 8446 §4.2.8.2: uncompressed form only, on the curve (the same check as noble).
    if (!isValidNistPoint(this.curve, peerPublic)) return undefined;
    try {
      // RFC 8446 §7.4.1: node's ECDH secret is already the X coordinate alone.
      return u8(this.ecdh.computeSecret(peerPublic));
    } catch {
      return undefined;
    }
  }
}

const HASH_LEN = { sha256: 32, sha384: 48, sha512: 64 } as const;

class NodeSigningKey implements SigningKey {
  readonly publicKey: PublicKey;
  readonly schemes: readonly SignatureScheme[];
  private readonly key: KeyObject;
  constructor(material: PrivateKeyMaterial) {
    // The noble key validates the material, derives the public key and knows the scheme rules.
    const reference = createSigningKey(material);
    this.publicKey = reference.publicKey;
    this.schemes = reference.schemes;
    this.key = createPrivateKey({ key: privateKeyToJwk(material), format: 'jwk' });
  }
  sign(scheme: SignatureScheme, message: Uint8Array): Uint8Array {
    const info = schemeInfo(scheme);
    const hex = `0x${scheme.toString(16).padStart(4, '0')}`;
    switch (info?.alg) {
      case 'ecdsa':
        if (this.publicKey.kind !== 'ec') break;
        return u8(nodeSign(info.hash, message, { key: this.key, dsaEncoding: 'der' }));
      case 'ed25519':
        if (this.publicKey.kind !== 'ed25519') break;
        return u8(nodeSign(null, message, this.key));
      case 'rsa-pss':
        if (this.publicKey.kind !== 'rsa') break;
        // RFC 8446 §4.2.3: salt length = hash length, MGF1 with the same hash.
        return u8(
          nodeSign(info.hash, message, {
            key: this.key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: HASH_LEN[info.hash],
          }),
        );
      case 'rsa-pkcs1':
        if (this.publicKey.kind !== 'rsa') break;
        return u8(nodeSign(info.hash, message, { key: this.key, padding: constants.RSA_PKCS1_PADDING }));
      default:
        break;
    }
    throw new Error(`a ${this.publicKey.kind} key cannot sign with scheme ${hex}`);
  }
}

/** KeyObjects for verification, cached per PublicKey object (certificate keys are reused). */
const publicKeyObjects = new WeakMap<PublicKey, KeyObject | null>();
function publicKeyObject(key: PublicKey): KeyObject | undefined {
  const cached = publicKeyObjects.get(key);
  if (cached !== undefined) return cached ?? undefined;
  let obj: KeyObject | null;
  try {
    obj = createPublicKey({ key: publicKeyToJwk(key), format: 'jwk' });
  } catch {
    obj = null; // not on the curve, malformed …
  }
  publicKeyObjects.set(key, obj);
  return obj ?? undefined;
}

/** The same rules as signatures.ts verifySignature, with OpenSSL doing the arithmetic. */
function nodeVerifySignature(scheme: SignatureScheme, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  const info = schemeInfo(scheme);
  if (info === undefined) return false;
  try {
    switch (info.alg) {
      case 'ecdsa': {
        if (key.kind !== 'ec' || !isValidNistPoint(key.curve, key.point)) return false;
        const obj = publicKeyObject(key);
        return obj !== undefined && nodeVerify(info.hash, message, { key: obj, dsaEncoding: 'der' }, signature);
      }
      case 'ed25519': {
        if (key.kind !== 'ed25519' || key.key.length !== 32 || signature.length !== 64) return false;
        const obj = publicKeyObject(key);
        return obj !== undefined && nodeVerify(null, message, obj, signature);
      }
      case 'rsa-pss':
      case 'rsa-pkcs1': {
        if (key.kind !== 'rsa' || !isUsableRsaPublicKey(key)) return false;
        // RFC 8017 §8.1.2/§8.2.2 step 1: the signature is exactly k octets.
        if (signature.length !== Math.ceil(key.n.toString(16).length / 2)) return false;
        const obj = publicKeyObject(key);
        if (obj === undefined) return false;
        return info.alg === 'rsa-pss'
          ? nodeVerify(
              info.hash,
              message,
              { key: obj, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LEN[info.hash] },
              signature,
            )
          : nodeVerify(info.hash, message, { key: obj, padding: constants.RSA_PKCS1_PADDING }, signature);
      }
    }
  } catch {
    return false;
  }
}

export const nodeProvider: CryptoProvider = {
  name: 'node',
  hash: (name: HashName) => (name === 'sha384' ? SHA384 : SHA256),
  aead: (suite: CipherSuite, key: Uint8Array) => new NodeAead(aeadName(suite), key.slice()),
  keyShare: (group: NamedGroup): KeyShare | undefined => {
    switch (group) {
      case NamedGroup.x25519:
        return new NodeX25519Share();
      case NamedGroup.secp256r1:
        return new NodeNistShare('P-256');
      case NamedGroup.secp384r1:
        return new NodeNistShare('P-384');
      default:
        return undefined;
    }
  },
  signingKey: (material: PrivateKeyMaterial): SigningKey => new NodeSigningKey(material),
  verify: nodeVerifySignature,
  randomBytes: (n: number) => u8(randomBytes(n)),
};
