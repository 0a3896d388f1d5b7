// Small pieces of the handshake both roles use: the CertificateVerify signed content (RFC 8446 §4.4.3)
// and the default algorithm lists.

import { CipherSuite, NamedGroup, SignatureScheme } from './constants.js';

const SERVER_CONTEXT = new TextEncoder().encode('TLS 1.3, server CertificateVerify');
const CLIENT_CONTEXT = new TextEncoder().encode('TLS 1.3, client CertificateVerify');

/** RFC 8446 §4.4.3: 64 octets of 0x20, the context string, a 0 byte, then the transcript hash. */
export function certificateVerifyContent(role: 'server' | 'client', transcriptHash: Uint8Array): Uint8Array {
  const ctx = role === 'server' ? SERVER_CONTEXT : CLIENT_CONTEXT;
  const out = new Uint8Array(64 + ctx.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(ctx, 64);
  out[64 + ctx.length] = 0;
  out.set(transcriptHash, 64 + ctx.length + 1);
  return out;
}

export const DEFAULT_SUITES: readonly CipherSuite[] = [
  CipherSuite.TLS_AES_128_GCM_SHA256,
  CipherSuite.TLS_AES_256_GCM_SHA384,
  CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
];

export const DEFAULT_GROUPS: readonly NamedGroup[] = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1];

/** What the client offers in signature_algorithms: TLS 1.3 CertificateVerify schemes, then PKCS#1 for chains. */
export const CLIENT_SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  SignatureScheme.ecdsa_secp256r1_sha256,
  SignatureScheme.ecdsa_secp384r1_sha384,
  SignatureScheme.ed25519,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
];

/** RFC 8446 §4.2.3: RSASSA-PKCS1-v1_5 is for certificates only, never CertificateVerify. */
export function isCertificateVerifyScheme(s: number): boolean {
  return s !== SignatureScheme.rsa_pkcs1_sha256 && s !== SignatureScheme.rsa_pkcs1_sha384 && s !== SignatureScheme.rsa_pkcs1_sha512;
}
