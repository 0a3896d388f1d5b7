// A local certificate authority: builds and signs X.509 v3 certificates (RFC 5280 §4.1) for a CA, for
// intermediate CAs and for TLS servers, with the DER writer in der.ts and a SigningKey from the CryptoProvider.

import type { SignatureScheme } from '../constants.js';
import type { CryptoProvider, PrivateKeyMaterial, PublicKey, SigningKey } from '../crypto/provider.js';
import { generatePrivateKey, type KeyKind, privateKeyToPem, publicKeyToSpkiDer } from '../crypto/keys.js';
import { parseCertificate } from './certificate.js';
import {
  asOctetAlignedBits,
  derBitString,
  derBoolean,
  derDecode,
  derExplicit,
  derImplicit,
  derInteger,
  derNamedBits,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derTime,
  DerReader,
  open,
  Tag,
} from './der.js';
import { parseIpLiteral } from './hostname.js';
import { buildName } from './name.js';
import { KeyUsage, Oid } from './oids.js';
import { pemEncode } from './pem.js';

/** A certificate with its private key, in DER/material and PEM forms. */
export interface Issued {
  certDer: Uint8Array;
  key: PrivateKeyMaterial;
  certPem: string;
  keyPem: string;
}

export type CaKeyKind = 'ecdsa-p256' | 'rsa-2048';
export type LeafKeyKind = KeyKind;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Defaults: ten years for a CA; 397 days for a server, the CA/Browser Forum maximum some clients enforce. */
const CA_DAYS = 3650;
const LEAF_DAYS = 397;

interface Validity {
  now: number;
  validityDays?: number;
  notBefore?: number;
  notAfter?: number;
}

export interface CreateCaOptions extends Validity {
  crypto: CryptoProvider;
  commonName?: string;
  keyKind?: CaKeyKind;
  /** Use this key instead of generating one. */
  key?: PrivateKeyMaterial;
}

export interface IssueOptions extends Validity {
  /** The issuing CA (its certificate must carry the subject and key that sign). */
  ca: Issued;
  crypto: CryptoProvider;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  keyKind: LeafKeyKind;
  key?: PrivateKeyMaterial;
}

export interface IntermediateOptions extends Validity {
  ca: Issued;
  crypto: CryptoProvider;
  commonName: string;
  keyKind?: CaKeyKind | 'ecdsa-p384';
  key?: PrivateKeyMaterial;
  /** basicConstraints pathLenConstraint (RFC 5280 §4.2.1.9); absent = unlimited. */
  pathLen?: number;
}

/** RFC 5280 §4.1.1.2 AlgorithmIdentifier and the TLS scheme to sign with, for a CA key. */
function signatureAlgorithm(key: PublicKey): { scheme: SignatureScheme; algId: Uint8Array } {
  switch (key.kind) {
    case 'ec':
      // RFC 5758 §3.2: ecdsa-with-SHA256/384, parameters absent.
      return key.curve === 'P-256'
        ? { scheme: 0x0403, algId: derSequence(derOid(Oid.ecdsaWithSha256)) }
        : { scheme: 0x0503, algId: derSequence(derOid(Oid.ecdsaWithSha384)) };
    case 'rsa':
      // RFC 4055 §5: sha256WithRSAEncryption with NULL parameters.
      return { scheme: 0x0401, algId: derSequence(derOid(Oid.sha256WithRsa), derNull()) };
    case 'ed25519':
      // RFC 8410 §6: id-Ed25519, parameters absent.
      return { scheme: 0x0807, algId: derSequence(derOid(Oid.ed25519)) };
  }
}

/** RFC 5280 §4.1: Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  // X.690 §11.5: a DEFAULT value is not encoded, so critical appears only when TRUE.
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

/**
 * RFC 7093 §2 method 1 (an alternative to RFC 5280 §4.2.1.2's SHA-1): the leftmost 160 bits of the SHA-256
 * of the subjectPublicKey BIT STRING's value.
 */
function keyIdentifier(spki: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const bits = derDecode(() => {
    const r = open(new DerReader(spki).expect(Tag.SEQUENCE, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
    r.expect(Tag.SEQUENCE, 'algorithm');
    return asOctetAlignedBits(r.expect(Tag.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  });
  if (!bits.ok) throw new Error(`cannot compute a key identifier: ${bits.error}`);
  return crypto.hash('sha256').digest(bits.value).slice(0, 20);
}

/** RFC 5280 §4.1.2.2: a positive serial of 16 random octets (at least 64 bits of CSPRNG output per CA/B BR). */
function randomSerial(crypto: CryptoProvider): Uint8Array {
  const s = crypto.randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x40; // positive, and exactly 16 octets in the minimal INTEGER encoding
  return s;
}

function validity(v: Validity, defaultDays: number): { notBefore: number; notAfter: number } {
  // The hour of back-dating absorbs clock skew between this host and its clients.
  const notBefore = v.notBefore ?? v.now - HOUR;
  const notAfter = v.notAfter ?? v.now + (v.validityDays ?? defaultDays) * DAY;
  if (!(notAfter > notBefore)) throw new RangeError('certificate validity: notAfter must be after notBefore');
  return { notBefore, notAfter };
}

interface TbsParams {
  crypto: CryptoProvider;
  issuerName: Uint8Array;
  issuerKey: SigningKey;
  subjectName: Uint8Array;
  subjectKey: PublicKey;
  notBefore: number;
  notAfter: number;
  extensions: Uint8Array[];
}

/** Builds a tbsCertificate (RFC 5280 §4.1.2) and signs it with the issuer's key. */
function signCertificate(p: TbsParams): Uint8Array {
  const { scheme, algId } = signatureAlgorithm(p.issuerKey.publicKey);
  const tbs = derSequence(
    derExplicit(0, derInteger(2)), // RFC 5280 §4.1.2.1: v3, since extensions are present
    derInteger(randomSerial(p.crypto)),
    algId,
    p.issuerName,
    // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    derSequence(derTime(p.notBefore), derTime(p.notAfter)),
    p.subjectName,
    publicKeyToSpkiDer(p.subjectKey),
    derExplicit(3, derSequence(...p.extensions)),
  );
  const signature = p.issuerKey.sign(scheme, tbs);
  // RFC 5280 §4.1.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
  return derSequence(tbs, algId, derBitString(signature));
}

function finish(certDer: Uint8Array, key: PrivateKeyMaterial): Issued {
  return { certDer, key, certPem: pemEncode(certDer, 'CERTIFICATE'), keyPem: privateKeyToPem(key) };
}

/** The CA's subject, key identifier and signing key, from its certificate and key material. */
function issuerOf(ca: Issued, crypto: CryptoProvider): { name: Uint8Array; keyId: Uint8Array | undefined; key: SigningKey } {
  const parsed = parseCertificate(ca.certDer);
  if (!parsed.ok) throw new Error(`the CA certificate cannot be read: ${parsed.error}`);
  return { name: parsed.value.subjectDer, keyId: parsed.value.subjectKeyId, key: crypto.signingKey(ca.key) };
}

/** RFC 5280 §4.2.1.1: authorityKeyIdentifier with keyIdentifier [0] only. */
function authorityKeyId(keyId: Uint8Array | undefined): Uint8Array[] {
  return keyId ? [extension(Oid.authorityKeyIdentifier, false, derSequence(derImplicit(0, keyId)))] : [];
}

/** CA extensions: basicConstraints (critical, cA=TRUE), keyUsage (critical, keyCertSign|cRLSign), SKI. */
function caExtensions(spkiKeyId: Uint8Array, pathLen: number | undefined): Uint8Array[] {
  // RFC 5280 §4.2.1.9: "Conforming CAs MUST include this extension in all CA certificates ... mark it critical".
  const bc = pathLen === undefined ? derSequence(derBoolean(true)) : derSequence(derBoolean(true), derInteger(pathLen));
  return [
    extension(Oid.basicConstraints, true, bc),
    // RFC 5280 §4.2.1.3: "When present, conforming CAs SHOULD mark this extension as critical."
    extension(Oid.keyUsage, true, derNamedBits(KeyUsage.keyCertSign | KeyUsage.cRLSign)),
    // RFC 5280 §4.2.1.2: CA certificates MUST carry subjectKeyIdentifier.
    extension(Oid.subjectKeyIdentifier, false, derOctetString(spkiKeyId)),
  ];
}

/** A self-signed root CA (ECDSA P-256 by default). */
export function createLocalCa(opts: CreateCaOptions): Issued {
  const key = opts.key ?? generatePrivateKey(opts.keyKind ?? 'ecdsa-p256');
  const signer = opts.crypto.signingKey(key);
  const suffix = [...opts.crypto.randomBytes(4)].map((b) => b.toString(16).padStart(2, '0')).join('');
  // A distinct default name per CA, so two local CAs are never confused with each other in a trust store.
  const name = buildName([
    { oid: Oid.organizationName, value: 'tunstack' },
    { oid: Oid.commonName, value: opts.commonName ?? `tunstack local CA ${suffix}` },
  ]);
  const { notBefore, notAfter } = validity(opts, CA_DAYS);
  const keyId = keyIdentifier(publicKeyToSpkiDer(signer.publicKey), opts.crypto);
  const der = signCertificate({
    crypto: opts.crypto,
    issuerName: name,
    issuerKey: signer,
    subjectName: name,
    subjectKey: signer.publicKey,
    notBefore,
    notAfter,
    extensions: caExtensions(keyId, undefined),
  });
  return finish(der, key);
}

/** An intermediate CA signed by `ca`. */
export function issueIntermediateCa(opts: IntermediateOptions): Issued {
  const issuer = issuerOf(opts.ca, opts.crypto);
  const key = opts.key ?? generatePrivateKey(opts.keyKind ?? 'ecdsa-p256');
  const subjectKey = opts.crypto.signingKey(key).publicKey;
  const { notBefore, notAfter } = validity(opts, CA_DAYS);
  const keyId = keyIdentifier(publicKeyToSpkiDer(subjectKey), opts.crypto);
  const der = signCertificate({
    crypto: opts.crypto,
    issuerName: issuer.name,
    issuerKey: issuer.key,
    subjectName: buildName([
      { oid: Oid.organizationName, value: 'tunstack' },
      { oid: Oid.commonName, value: opts.commonName },
    ]),
    subjectKey,
    notBefore,
    notAfter,
    extensions: [...caExtensions(keyId, opts.pathLen), ...authorityKeyId(issuer.keyId)],
  });
  return finish(der, key);
}

/** A TLS server (and client) certificate for `dnsNames` and `ipAddresses`, signed by `ca`. */
export function issueCertificate(opts: IssueOptions): Issued {
  const issuer = issuerOf(opts.ca, opts.crypto);
  const key = opts.key ?? generatePrivateKey(opts.keyKind);
  const subjectKey = opts.crypto.signingKey(key).publicKey;
  const { notBefore, notAfter } = validity(opts, LEAF_DAYS);
  // RFC 5280 §4.2.1.6: GeneralName dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16 octets).
  const names: Uint8Array[] = [];
  for (const d of opts.dnsNames) {
    if (!/^[\x21-\x7e]+$/.test(d)) throw new RangeError(`not a DNS name: ${JSON.stringify(d)}`);
    names.push(derImplicit(2, new TextEncoder().encode(d.toLowerCase())));
  }
  for (const ip of opts.ipAddresses) {
    const bytes = parseIpLiteral(ip);
    if (!bytes) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`);
    names.push(derImplicit(7, bytes));
  }
  // RFC 5280 §4.2.1.3: digitalSignature for the TLS 1.3 CertificateVerify; keyEncipherment too for RSA
  // keys, which older TLS versions' RSA key transport would need.
  const usage = KeyUsage.digitalSignature | (key.kind === 'rsa' ? KeyUsage.keyEncipherment : 0);
  const extensions = [
    // RFC 5280 §4.2.1.9: cA FALSE is the DEFAULT, so the SEQUENCE is empty.
    extension(Oid.basicConstraints, true, derSequence()),
    extension(Oid.keyUsage, true, derNamedBits(usage)),
    // RFC 5280 §4.2.1.12: id-kp-serverAuth, id-kp-clientAuth.
    extension(Oid.extKeyUsage, false, derSequence(derOid(Oid.serverAuth), derOid(Oid.clientAuth))),
    // RFC 5280 §4.2.1.2: end-entity certificates SHOULD carry subjectKeyIdentifier as well.
    extension(Oid.subjectKeyIdentifier, false, derOctetString(keyIdentifier(publicKeyToSpkiDer(subjectKey), opts.crypto))),
    ...authorityKeyId(issuer.keyId),
  ];
  if (names.length > 0) {
    // RFC 5280 §4.2.1.6: non-critical, since the subject is not empty.
    extensions.push(extension(Oid.subjectAltName, false, derSequence(...names)));
  }
  const der = signCertificate({
    crypto: opts.crypto,
    issuerName: issuer.name,
    issuerKey: issuer.key,
    subjectName: buildName([{ oid: Oid.commonName, value: opts.commonName }]),
    subjectKey,
    notBefore,
    notAfter,
    extensions,
  });
  return finish(der, key);
}
