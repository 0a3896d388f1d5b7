// The default CryptoProvider, on the audited pure-JS noble libraries: SHA-2 and HMAC from
// @noble/hashes, AES-GCM and ChaCha20-Poly1305 from @noble/ciphers, (EC)DHE and signatures from
// @noble/curves (ecdhe.ts, signatures.ts), RSA on BigInt (rsa.ts).

import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import type { CipherSuite, NamedGroup, SignatureScheme } from '../constants.js';
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
import { createKeyShare } from './ecdhe.js';
import { createSigningKey, verifySignature } from './signatures.js';

type NobleHash = typeof sha256 | typeof sha384;
type NobleRunning = ReturnType<typeof sha256.create> | ReturnType<typeof sha384.create>;

class NobleRunningHash implements RunningHash {
  constructor(private readonly h: NobleRunning) {}
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  peek(): Uint8Array {
    return this.h.clone().digest();
  }
  clone(): RunningHash {
    return new NobleRunningHash(this.h.clone());
  }
}

function hashAlgorithm(name: HashName, fn: NobleHash): HashAlgorithm {
  return {
    name,
    outputLen: fn.outputLen,
    digest: (data) => fn(data),
    hmac: (key, data) => hmac(fn, key, data),
    running: () => new NobleRunningHash(fn.create()),
  };
}

const SHA256 = hashAlgorithm('sha256', sha256);
const SHA384 = hashAlgorithm('sha384', sha384);

class NobleAead implements Aead {
  readonly ivLen = 12 as const;
  readonly tagLen = 16 as const;
  constructor(
    private readonly key: Uint8Array,
    private readonly chacha: boolean,
  ) {}
  get keyLen(): number {
    return this.key.length;
  }
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    return (this.chacha ? chacha20poly1305 : gcm)(this.key, nonce, aad).encrypt(plaintext);
  }
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    if (ciphertext.length < 16) return undefined;
    try {
      return (this.chacha ? chacha20poly1305 : gcm)(this.key, nonce, aad).decrypt(ciphertext);
    } catch {
      return undefined; // tag mismatch: bad_record_mac for the caller
    }
  }
}

export const nobleProvider: CryptoProvider = {
  name: 'noble',
  hash: (name: HashName) => (name === 'sha384' ? SHA384 : SHA256),
  aead: (suite: CipherSuite, key: Uint8Array) => new NobleAead(key.slice(), suite === 0x1303),
  keyShare: (group: NamedGroup): KeyShare | undefined => createKeyShare(group),
  signingKey: (material: PrivateKeyMaterial): SigningKey => createSigningKey(material),
  verify: (scheme: SignatureScheme, key: PublicKey, message: Uint8Array, signature: Uint8Array) =>
    verifySignature(scheme, key, message, signature),
  randomBytes: (n: number) => randomBytes(n),
};
