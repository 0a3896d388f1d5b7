// RSA signatures on BigInt (RFC 8017): RSASSA-PSS (§8.1, EMSA-PSS §9.1 with MGF1 §B.2.1) and
// RSASSA-PKCS1-v1_5 (§8.2, EMSA-PKCS1-v1_5 §9.2). Private operations use the CRT and are checked.

import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';

export type RsaHash = 'sha256' | 'sha384' | 'sha512';
export interface RsaPublicKey {
  readonly n: bigint;
  readonly e: bigint;
}
export interface RsaPrivateKey extends RsaPublicKey {
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qi: bigint;
}

/** Modulus sizes accepted at all (a DoS bound, not a security policy: x509 decides the minimum). */
export const RSA_MIN_BITS = 512;
export const RSA_MAX_BITS = 16384;
/**
 * Public exponents above 64 bits are refused, as OpenSSL does for large moduli: a peer's
 * certificate could otherwise make every verification cost as much as a private-key operation.
 */
export const RSA_MAX_E_BITS = 64;

const HASHES: Record<RsaHash, { fn: (m: Uint8Array) => Uint8Array; len: number }> = {
  sha256: { fn: (m) => sha256(m), len: 32 },
  sha384: { fn: (m) => sha384(m), len: 48 },
  sha512: { fn: (m) => sha512(m), len: 64 },
};

/** RFC 8017 §9.2 note 1: the DER DigestInfo prefixes for SHA-256/384/512. */
const DIGEST_INFO_PREFIX: Record<RsaHash, Uint8Array> = {
  sha256: Uint8Array.from([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]),
  sha384: Uint8Array.from([0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]),
  sha512: Uint8Array.from([0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]),
};

export function bitLength(x: bigint): number {
  return x <= 0n ? 0 : x.toString(2).length;
}

/** RFC 8017 §4.2 OS2IP. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return BigInt('0x' + hex);
}

/** RFC 8017 §4.1 I2OSP; undefined when x does not fit in `len` bytes. */
export function bigIntToBytes(x: bigint, len: number): Uint8Array | undefined {
  if (x < 0n) return undefined;
  const hex = x.toString(16);
  if (hex.length > len * 2) return undefined;
  const padded = hex.padStart(len * 2, '0');
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = parseInt(padded.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** base^exp mod m, left-to-right with a 5-bit sliding window (exp ≥ 0, m > 1). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  base %= m;
  if (base < 0n) base += m;
  if (exp === 0n) return 1n;
  const bits = exp.toString(2);
  if (bits.length <= 32) {
    // Short exponents (the public e): plain square-and-multiply.
    let r = 1n;
    for (let i = 0; i < bits.length; i++) {
      r = (r * r) % m;
      if (bits.charCodeAt(i) === 49) r = (r * base) % m;
    }
    return r;
  }
  const W = 5;
  // Odd powers base^1, base^3, …, base^(2^W - 1).
  const table: bigint[] = [base];
  const b2 = (base * base) % m;
  for (let i = 1; i < 1 << (W - 1); i++) table.push((table[i - 1]! * b2) % m);
  let r = 1n;
  let i = 0;
  while (i < bits.length) {
    if (bits.charCodeAt(i) === 48) {
      r = (r * r) % m;
      i++;
      continue;
    }
    // Longest window starting at i of at most W bits that ends in a 1.
    let j = Math.min(i + W, bits.length);
    while (bits.charCodeAt(j - 1) === 48) j--;
    const win = parseInt(bits.slice(i, j), 2);
    for (let k = i; k < j; k++) r = (r * r) % m;
    r = (r * table[(win - 1) >> 1]!) % m;
    i = j;
  }
  return r;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** A public key this module will operate on: odd n within the size bounds, odd e with 3 ≤ e < min(n, 2^64). */
export function isUsableRsaPublicKey(key: RsaPublicKey): boolean {
  const bits = bitLength(key.n);
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || (key.n & 1n) !== 1n) return false;
  return key.e >= 3n && key.e < key.n && bitLength(key.e) <= RSA_MAX_E_BITS && (key.e & 1n) === 1n;
}

/** RFC 8017 §5.2.1 RSASP1 with the CRT (§5.1.2 2.b), checked by re-applying e (fault-attack guard). */
function rsasp1(key: RsaPrivateKey, m: bigint): bigint {
  if (m < 0n || m >= key.n) throw new Error('RSA message representative out of range');
  const m1 = modPow(m, key.dp, key.p);
  const m2 = modPow(m, key.dq, key.q);
  const h = mod(key.qi * (m1 - m2), key.p);
  const s = m2 + key.q * h;
  // A fault in one half of the CRT leaks a factor of n (Boneh–DeMillo–Lipton); never release it.
  if (modPow(s, key.e, key.n) !== m) throw new Error('RSA signature self-check failed (bad key or fault)');
  return s;
}

/** RFC 8017 §B.2.1 MGF1 with the given hash. */
function mgf1(hash: RsaHash, seed: Uint8Array, maskLen: number): Uint8Array {
  const h = HASHES[hash];
  const out = new Uint8Array(maskLen);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  let off = 0;
  for (let counter = 0; off < maskLen; counter++) {
    block[seed.length] = (counter >>> 24) & 0xff;
    block[seed.length + 1] = (counter >>> 16) & 0xff;
    block[seed.length + 2] = (counter >>> 8) & 0xff;
    block[seed.length + 3] = counter & 0xff;
    const t = h.fn(block);
    const take = Math.min(t.length, maskLen - off);
    out.set(t.subarray(0, take), off);
    off += take;
  }
  return out;
}

/** H = Hash(0x00 * 8 || mHash || salt) (RFC 8017 §9.1.1 steps 5–6). */
function pssH(hash: RsaHash, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const mPrime = new Uint8Array(8 + mHash.length + salt.length);
  mPrime.set(mHash, 8);
  mPrime.set(salt, 8 + mHash.length);
  return HASHES[hash].fn(mPrime);
}

/** RFC 8017 §9.1.1 EMSA-PSS-ENCODE. */
export function emsaPssEncode(hash: RsaHash, message: Uint8Array, emBits: number, salt: Uint8Array): Uint8Array {
  const hLen = HASHES[hash].len;
  const sLen = salt.length;
  const emLen = Math.ceil(emBits / 8);
  const mHash = HASHES[hash].fn(message);
  if (emLen < hLen + sLen + 2) throw new Error('RSA modulus too small for PSS with this hash');
  const H = pssH(hash, mHash, salt);
  // DB = PS || 0x01 || salt, of length emLen - hLen - 1.
  const dbLen = emLen - hLen - 1;
  const db = new Uint8Array(dbLen);
  db[dbLen - sLen - 1] = 0x01;
  db.set(salt, dbLen - sLen);
  const dbMask = mgf1(hash, H, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= dbMask[i]!;
  // Step 11: "Set the leftmost 8emLen - emBits bits of the leftmost octet in maskedDB to zero."
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const em = new Uint8Array(emLen);
  em.set(db);
  em.set(H, dbLen);
  em[emLen - 1] = 0xbc;
  return em;
}

/** RFC 8017 §9.1.2 EMSA-PSS-VERIFY with a fixed salt length. */
export function emsaPssVerify(hash: RsaHash, message: Uint8Array, em: Uint8Array, emBits: number, sLen: number): boolean {
  const hLen = HASHES[hash].len;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const maskedDb = em.subarray(0, dbLen);
  const H = em.subarray(dbLen, dbLen + hLen);
  const topMask = 0xff >>> (8 * emLen - emBits);
  if ((maskedDb[0]! & ~topMask & 0xff) !== 0) return false;
  const db = mgf1(hash, H, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= maskedDb[i]!;
  db[0]! &= topMask;
  // Step 10: the emLen - hLen - sLen - 2 leftmost octets are zero and the next is 0x01.
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(dbLen - sLen);
  const H2 = pssH(hash, HASHES[hash].fn(message), salt);
  return equalBytes(H, H2);
}

/** RFC 8017 §9.2 EMSA-PKCS1-V1_5-ENCODE. */
export function emsaPkcs1Encode(hash: RsaHash, message: Uint8Array, emLen: number): Uint8Array | undefined {
  const prefix = DIGEST_INFO_PREFIX[hash];
  const digest = HASHES[hash].fn(message);
  const tLen = prefix.length + digest.length;
  if (emLen < tLen + 11) return undefined; // "intended encoded message length too short"
  // EM = 0x00 || 0x01 || PS (0xff, at least 8 octets) || 0x00 || T
  const em = new Uint8Array(emLen).fill(0xff);
  em[0] = 0x00;
  em[1] = 0x01;
  em[emLen - tLen - 1] = 0x00;
  em.set(prefix, emLen - tLen);
  em.set(digest, emLen - digest.length);
  return em;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function modulusLen(n: bigint): number {
  return Math.ceil(bitLength(n) / 8);
}

/**
 * RFC 8017 §8.1.1 RSASSA-PSS-SIGN with salt length = hash length and MGF1 over the same hash,
 * as RFC 8446 §4.2.3 requires for rsa_pss_rsae_*.
 */
export function rsaSignPss(key: RsaPrivateKey, hash: RsaHash, message: Uint8Array, salt?: Uint8Array): Uint8Array {
  const s = salt ?? randomBytes(HASHES[hash].len);
  const modBits = bitLength(key.n);
  const em = emsaPssEncode(hash, message, modBits - 1, s);
  const sig = rsasp1(key, bytesToBigInt(em));
  return bigIntToBytes(sig, modulusLen(key.n))!;
}

/** RFC 8017 §8.2.1 RSASSA-PKCS1-V1_5-SIGN. */
export function rsaSignPkcs1(key: RsaPrivateKey, hash: RsaHash, message: Uint8Array): Uint8Array {
  const k = modulusLen(key.n);
  const em = emsaPkcs1Encode(hash, message, k);
  if (em === undefined) throw new Error('RSA modulus too small for PKCS#1 v1.5 with this hash');
  return bigIntToBytes(rsasp1(key, bytesToBigInt(em)), k)!;
}

/** RFC 8017 §5.2.2 RSAVP1 after the §8.x.2 step-1 length check; undefined when out of range. */
function rsavp1(key: RsaPublicKey, signature: Uint8Array): bigint | undefined {
  if (!isUsableRsaPublicKey(key)) return undefined;
  if (signature.length !== modulusLen(key.n)) return undefined; // "If the length of S is not k octets"
  const s = bytesToBigInt(signature);
  if (s >= key.n) return undefined; // "signature representative out of range"
  return modPow(s, key.e, key.n);
}

/** RFC 8017 §8.1.2 RSASSA-PSS-VERIFY with sLen = hLen (RFC 8446 §4.2.3). Never throws. */
export function rsaVerifyPss(key: RsaPublicKey, hash: RsaHash, message: Uint8Array, signature: Uint8Array): boolean {
  const m = rsavp1(key, signature);
  if (m === undefined) return false;
  const emBits = bitLength(key.n) - 1;
  const em = bigIntToBytes(m, Math.ceil(emBits / 8));
  if (em === undefined) return false; // "If I2OSP outputs 'integer too large', output 'invalid signature'"
  return emsaPssVerify(hash, message, em, emBits, HASHES[hash].len);
}

/** RFC 8017 §8.2.2 RSASSA-PKCS1-V1_5-VERIFY, by encoding and comparing (step 4). Never throws. */
export function rsaVerifyPkcs1(key: RsaPublicKey, hash: RsaHash, message: Uint8Array, signature: Uint8Array): boolean {
  const m = rsavp1(key, signature);
  if (m === undefined) return false;
  const k = modulusLen(key.n);
  const em = bigIntToBytes(m, k);
  const expected = emsaPkcs1Encode(hash, message, k);
  if (em === undefined || expected === undefined) return false;
  return equalBytes(em, expected);
}
