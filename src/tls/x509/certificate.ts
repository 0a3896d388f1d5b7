// X.509 v3 certificate parsing (RFC 5280 §4.1, §4.2): the DER fields needed to verify a chain — the signed
// tbsCertificate bytes, the signature algorithm as a TLS SignatureScheme, extensions — beside Node's X509Certificate.

import { X509Certificate } from 'node:crypto';
import type { SignatureScheme } from '../constants.js';
import type { PublicKey } from '../crypto/provider.js';
import { publicKeyFromSpki } from '../crypto/keys.js';
import type { Parsed } from '../../wire/result.js';
import {
  asBitString,
  asBoolean,
  asOctetAlignedBits,
  asOid,
  asSmallInt,
  asTime,
  children,
  contextTag,
  derDecode,
  DerError,
  type DerElement,
  DerReader,
  open,
  readSingle,
  Tag,
} from './der.js';
import { parseName } from './name.js';
import { Oid } from './oids.js';
import { formatIp } from './hostname.js';

export interface CertInfo {
  der: Uint8Array;
  /** The tbsCertificate TLV, byte for byte as signed (RFC 5280 §4.1.1.3). */
  tbs: Uint8Array;
  /** 1, 2 or 3 (RFC 5280 §4.1.2.1). */
  version: number;
  /** The serial number's content octets in hex. */
  serialNumber: string;
  /** The signatureAlgorithm OID, and the TLS scheme that verifies it (undefined: not supported, e.g. SHA-1). */
  signatureAlgorithm: string;
  signatureScheme: SignatureScheme | undefined;
  signature: Uint8Array;
  publicKey: PublicKey;
  /** The SubjectPublicKeyInfo TLV (trust-anchor matching compares it byte for byte). */
  spki: Uint8Array;
  /** "C=US, O=Example, CN=host", in DER order. */
  subject: string;
  issuer: string;
  /** The Name TLVs, for issuer/subject chaining (RFC 5280 §4.1.2.4). */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  commonName: string | undefined;
  /** Validity, ms since the epoch (RFC 5280 §4.1.2.5). */
  notBefore: number;
  notAfter: number;
  /** basicConstraints (RFC 5280 §4.2.1.9); v1/v2 certificates have none and are not CAs here. */
  isCA: boolean;
  pathLen: number | undefined;
  /** keyUsage bit set (see KeyUsage in oids.ts), undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** extKeyUsage OIDs, undefined when the extension is absent. */
  extendedKeyUsage: string[] | undefined;
  /** subjectAltName (RFC 5280 §4.2.1.6): whether present, its dNSName and iPAddress entries. */
  hasSubjectAltName: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId: Uint8Array | undefined;
  authorityKeyId: Uint8Array | undefined;
  /** OIDs of critical extensions this code does not process (RFC 5280 §4.2: such a certificate MUST be rejected). */
  unhandledCriticalExtensions: string[];
  x509: X509Certificate;
}

/** The fields parsed from DER, before the key and Node's view are attached. */
type DerFields = Omit<CertInfo, 'publicKey' | 'x509' | 'der'>;

const latin1 = new TextDecoder('latin1');
const HASH_LEN: Record<string, number> = { [Oid.sha256]: 32, [Oid.sha384]: 48, [Oid.sha512]: 64 };
const PSS_SCHEME: Record<string, SignatureScheme> = { [Oid.sha256]: 0x0804, [Oid.sha384]: 0x0805, [Oid.sha512]: 0x0806 };

/** AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } (RFC 5280 §4.1.1.2). */
function algorithmIdentifier(el: DerElement, what: string): { oid: string; params: DerElement | undefined } {
  const r = open(el, what, Tag.SEQUENCE);
  const oid = asOid(r.expect(Tag.OID, what), what);
  const params = r.atEnd() ? undefined : r.next(what);
  r.done(what);
  return { oid, params };
}

/** The hash OID of an AlgorithmIdentifier whose parameters are absent or NULL. */
function hashOid(el: DerElement): string {
  const { oid, params } = algorithmIdentifier(el, 'hash algorithm');
  if (params && params.tag !== Tag.NULL) throw new DerError('hash algorithm: unexpected parameters');
  return oid;
}

/**
 * RFC 4055 §3.1: RSASSA-PSS-params. Only the TLS 1.3 shapes map to a scheme (RFC 8446 §4.2.3: MGF1 with
 * the same hash, salt length equal to the digest length, trailer 1); anything else is unsupported.
 */
function pssScheme(params: DerElement | undefined): SignatureScheme | undefined {
  if (!params || params.tag !== Tag.SEQUENCE) return undefined; // the SHA-1 defaults are not supported
  const r = open(params, 'RSASSA-PSS-params');
  const hashEl = r.optional(contextTag(0, true), 'hashAlgorithm');
  const mgfEl = r.optional(contextTag(1, true), 'maskGenAlgorithm');
  const saltEl = r.optional(contextTag(2, true), 'saltLength');
  const trailerEl = r.optional(contextTag(3, true), 'trailerField');
  r.done('RSASSA-PSS-params');
  if (!hashEl || !mgfEl || !saltEl) return undefined;
  const hash = hashOid(single(hashEl, 'hashAlgorithm'));
  const mgf = algorithmIdentifier(single(mgfEl, 'maskGenAlgorithm'), 'maskGenAlgorithm');
  if (mgf.oid !== Oid.mgf1 || !mgf.params || hashOid(mgf.params) !== hash) return undefined;
  const salt = asSmallInt(single(saltEl, 'saltLength'), 'saltLength');
  const trailer = trailerEl ? asSmallInt(single(trailerEl, 'trailerField'), 'trailerField') : 1;
  if (salt !== HASH_LEN[hash] || trailer !== 1) return undefined;
  return PSS_SCHEME[hash];
}

/** The one element inside an EXPLICIT tag. */
function single(el: DerElement, what: string): DerElement {
  const r = open(el, what);
  const inner = r.next(what);
  r.done(what);
  return inner;
}

/** RFC 5280 §4.1.1.2 signatureAlgorithm → TLS SignatureScheme (RFC 8446 §4.2.3), or undefined. */
function signatureScheme(oid: string, params: DerElement | undefined): SignatureScheme | undefined {
  switch (oid) {
    // RFC 5758 §3.2: ECDSA "the encoding MUST omit the parameters field". (ecdsa-with-SHA512 is not
    // supported by the provider, so it maps to undefined like SHA-1.)
    case Oid.ecdsaWithSha256:
      return params ? undefined : 0x0403;
    case Oid.ecdsaWithSha384:
      return params ? undefined : 0x0503;
    // RFC 4055 §5: PKCS #1 v1.5 parameters are NULL (absent is tolerated, as OpenSSL does).
    case Oid.sha256WithRsa:
      return params && params.tag !== Tag.NULL ? undefined : 0x0401;
    case Oid.sha384WithRsa:
      return params && params.tag !== Tag.NULL ? undefined : 0x0501;
    case Oid.sha512WithRsa:
      return params && params.tag !== Tag.NULL ? undefined : 0x0601;
    // RFC 8410 §6: Ed25519 "the parameters MUST be absent".
    case Oid.ed25519:
      return params ? undefined : 0x0807;
    case Oid.rsassaPss:
      return pssScheme(params);
    default:
      return undefined;
  }
}

interface Extensions {
  isCA: boolean;
  pathLen: number | undefined;
  keyUsage: number | undefined;
  extendedKeyUsage: string[] | undefined;
  hasSubjectAltName: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  subjectKeyId: Uint8Array | undefined;
  authorityKeyId: Uint8Array | undefined;
  unhandledCriticalExtensions: string[];
}

/** RFC 5280 §4.2.1.3: the KeyUsage BIT STRING as a bit set (bit i = named bit i). */
function keyUsageBits(el: DerElement): number {
  const { bytes } = asBitString(el, 'keyUsage');
  let bits = 0;
  for (let i = 0; i < Math.min(bytes.length * 8, 16); i++) {
    if (bytes[i >> 3]! & (0x80 >> (i & 7))) bits |= 1 << i;
  }
  return bits;
}

/** RFC 5280 §4.1.2.9: extensions [3] EXPLICIT Extensions OPTIONAL (absent → defaults). */
function parseExtensions(el: DerElement | undefined): Extensions {
  const out: Extensions = {
    isCA: false,
    pathLen: undefined,
    keyUsage: undefined,
    extendedKeyUsage: undefined,
    hasSubjectAltName: false,
    dnsNames: [],
    ipAddresses: [],
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    unhandledCriticalExtensions: [],
  };
  if (!el) return out;
  const seen = new Set<string>();
  // Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
  const list = single(el, 'extensions');
  if (list.tag !== Tag.SEQUENCE) throw new DerError('Extensions: not a SEQUENCE');
  for (const ext of children(list, 'Extension')) {
    const r = open(ext, 'Extension', Tag.SEQUENCE);
    const oid = asOid(r.expect(Tag.OID, 'extnID'), 'extnID');
    const criticalEl = r.optional(Tag.BOOLEAN, 'critical');
    const critical = criticalEl ? asBoolean(criticalEl, 'critical') : false;
    const value = r.expect(Tag.OCTET_STRING, 'extnValue').value;
    r.done('Extension');
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    const inner = (): DerElement => {
      const p = readSingle(value);
      if (!p.ok) throw new DerError(`extension ${oid}: ${p.error}`);
      return p.value;
    };
    switch (oid) {
      case Oid.basicConstraints: {
        // RFC 5280 §4.2.1.9: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
        const br = open(inner(), 'basicConstraints', Tag.SEQUENCE);
        const ca = br.optional(Tag.BOOLEAN, 'cA');
        out.isCA = ca ? asBoolean(ca, 'cA') : false;
        const pl = br.optional(Tag.INTEGER, 'pathLenConstraint');
        out.pathLen = pl ? asSmallInt(pl, 'pathLenConstraint') : undefined;
        br.done('basicConstraints');
        break;
      }
      case Oid.keyUsage: {
        const ku = inner();
        if (ku.tag !== Tag.BIT_STRING) throw new DerError('keyUsage: not a BIT STRING');
        out.keyUsage = keyUsageBits(ku);
        break;
      }
      case Oid.extKeyUsage: {
        // RFC 5280 §4.2.1.12: SEQUENCE SIZE (1..MAX) OF KeyPurposeId
        const eku = inner();
        if (eku.tag !== Tag.SEQUENCE) throw new DerError('extKeyUsage: not a SEQUENCE');
        out.extendedKeyUsage = children(eku, 'KeyPurposeId').map((k) => asOid(k, 'KeyPurposeId'));
        break;
      }
      case Oid.subjectAltName: {
        // RFC 5280 §4.2.1.6: GeneralNames; dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16 octets).
        const san = inner();
        if (san.tag !== Tag.SEQUENCE) throw new DerError('subjectAltName: not a SEQUENCE');
        out.hasSubjectAltName = true;
        for (const gn of children(san, 'GeneralName')) {
          if (gn.tag === contextTag(2, false)) {
            out.dnsNames.push(latin1.decode(gn.value));
          } else if (gn.tag === contextTag(7, false)) {
            if (gn.value.length !== 4 && gn.value.length !== 16) throw new DerError('subjectAltName: bad iPAddress length');
            out.ipAddresses.push(formatIp(gn.value));
          }
        }
        break;
      }
      case Oid.subjectKeyIdentifier: {
        const ski = inner();
        if (ski.tag !== Tag.OCTET_STRING) throw new DerError('subjectKeyIdentifier: not an OCTET STRING');
        out.subjectKeyId = ski.value;
        break;
      }
      case Oid.authorityKeyIdentifier: {
        // RFC 5280 §4.2.1.1: SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
        const ar = open(inner(), 'authorityKeyIdentifier', Tag.SEQUENCE);
        out.authorityKeyId = ar.optional(contextTag(0, false), 'keyIdentifier')?.value;
        break;
      }
      case Oid.certificatePolicies:
        // Recognised: no policy is required by this verifier (RFC 5280 §6.1.1 with initial-policy-set
        // any-policy and no explicit policy), so policies cannot make a path invalid.
        break;
      default:
        if (critical) out.unhandledCriticalExtensions.push(oid);
    }
  }
  return out;
}

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
function parseDer(der: Uint8Array): DerFields {
  const top = new DerReader(der);
  const cert = top.expect(Tag.SEQUENCE, 'Certificate');
  top.done('certificate');
  const cr = open(cert, 'Certificate');
  const tbsEl = cr.expect(Tag.SEQUENCE, 'tbsCertificate');
  const sigAlgEl = cr.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  const signature = asOctetAlignedBits(cr.expect(Tag.BIT_STRING, 'signatureValue'), 'signatureValue');
  cr.done('Certificate');

  const t = open(tbsEl, 'tbsCertificate');
  // RFC 5280 §4.1.2.1: version [0] EXPLICIT Version DEFAULT v1
  const versionEl = t.optional(contextTag(0, true), 'version');
  const version = versionEl ? asSmallInt(single(versionEl, 'version'), 'version') + 1 : 1;
  if (version > 3) throw new DerError(`unknown certificate version ${version}`);
  const serial = t.expect(Tag.INTEGER, 'serialNumber');
  if (serial.value.length === 0) throw new DerError('empty serialNumber');
  const innerSigAlg = t.expect(Tag.SEQUENCE, 'signature');
  const issuerEl = t.expect(Tag.SEQUENCE, 'issuer');
  const validity = open(t.expect(Tag.SEQUENCE, 'validity'), 'validity');
  const notBefore = asTime(validity.next('notBefore'), 'notBefore');
  const notAfter = asTime(validity.next('notAfter'), 'notAfter');
  validity.done('validity');
  const subjectEl = t.expect(Tag.SEQUENCE, 'subject');
  const spkiEl = t.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  t.optional(contextTag(1, false), 'issuerUniqueID');
  t.optional(contextTag(2, false), 'subjectUniqueID');
  const extEl = t.optional(contextTag(3, true), 'extensions');
  t.done('tbsCertificate');
  // RFC 5280 §4.1.2.9: "This field MUST only appear if the version is 3".
  if (extEl && version !== 3) throw new DerError('extensions in a non-v3 certificate');

  // RFC 5280 §4.1.1.2: signatureAlgorithm "MUST contain the same algorithm identifier as the signature field".
  if (toHex(innerSigAlg.raw) !== toHex(sigAlgEl.raw)) throw new DerError('signature algorithm mismatch inside the certificate');
  const sigAlg = algorithmIdentifier(sigAlgEl, 'signatureAlgorithm');

  const spki = open(spkiEl, 'subjectPublicKeyInfo');
  algorithmIdentifier(spki.expect(Tag.SEQUENCE, 'algorithm'), 'algorithm');
  spki.expect(Tag.BIT_STRING, 'subjectPublicKey');
  spki.done('subjectPublicKeyInfo');

  const subject = parseName(subjectEl);
  const issuer = parseName(issuerEl);
  const ext = parseExtensions(extEl);
  return {
    tbs: tbsEl.raw,
    version,
    serialNumber: toHex(serial.value),
    signatureAlgorithm: sigAlg.oid,
    signatureScheme: signatureScheme(sigAlg.oid, sigAlg.params),
    signature,
    spki: spkiEl.raw,
    subject: subject.text,
    issuer: issuer.text,
    subjectDer: subjectEl.raw,
    issuerDer: issuerEl.raw,
    commonName: subject.commonName,
    notBefore,
    notAfter,
    ...ext,
  };
}

/** Parses a DER certificate. Never throws: garbage, unsupported keys and Node's refusal are all `{ ok: false }`. */
export function parseCertificate(der: Uint8Array): Parsed<CertInfo> {
  // A copy, so later changes to the caller's buffer cannot alter what was parsed (views point into it).
  // (new Uint8Array(x) copies even when x is a Buffer, whose slice() would share memory.)
  const copy = new Uint8Array(der);
  const own = derDecode(() => parseDer(copy));
  if (!own.ok) return { ok: false, error: `malformed certificate: ${own.error}` };
  const publicKey = publicKeyFromSpki(own.value.spki);
  if (!publicKey) return { ok: false, error: 'unsupported or malformed public key' };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(copy);
  } catch (e) {
    return { ok: false, error: `malformed certificate: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ok: true, value: { ...own.value, der: copy, publicKey, x509 } };
}
