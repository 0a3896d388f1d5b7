// Server certificate chain verification (RFC 5280 §6, simplified; RFC 6125 names): build a path from the leaf
// through the certificates the server sent, in any order, to a trusted root, then check each certificate on it.
//
// Alerts chosen (RFC 8446 §6.2), with reasons written for the person who sees them:
// - empty chain → certificate_unknown (the handshake layer should already have answered an empty Certificate
//   message with decode_error, RFC 8446 §4.4.2.4; this is the verifier's own answer if asked anyway);
// - leaf unparsable → bad_certificate;
// - no issuer found by name (and key identifier) up to a root → unknown_ca;
// - an issuer found by name whose key does not verify the signature → bad_certificate (a tampered or
//   mis-issued certificate, not merely an unknown one); a signature algorithm we cannot check → unsupported_certificate;
// - outside notBefore..notAfter at `now`, for any certificate on the path, root included → certificate_expired;
// - CA rules (cA=TRUE, keyCertSign, pathLen), leaf keyUsage/EKU, the name → bad_certificate;
// - an unprocessed critical extension below the root (e.g. nameConstraints) → unsupported_certificate.
// Not implemented: revocation (CRL/OCSP), name constraints and policy processing, the self-issued exemption
// of §6.1.4 (l) for pathLen. Names are chained by byte-equal DER (RFC 5280 §7.1 also allows normalisation).

import type { CryptoProvider } from '../crypto/provider.js';
import type { VerifyOutcome } from '../engine-api.js';
import { type CertInfo, parseCertificate } from './certificate.js';
import { checkServerIdentity } from './hostname.js';
import { KeyUsage, Oid } from './oids.js';
import { pemDecodeAll } from './pem.js';

export interface VerifyChainOptions {
  /** DER certificates as received: leaf first, then intermediates in any order (extras are ignored). */
  chain: readonly Uint8Array[];
  roots: readonly CertInfo[];
  /** ms since the epoch. */
  now: number;
  /** A DNS name or an IP literal; undefined skips the name check. */
  name: string | undefined;
  crypto: CryptoProvider;
}

type Failure = Extract<VerifyOutcome, { ok: false }>;

/** Longest path considered (leaf + intermediates + root), and a bound on signature checks per call. */
const MAX_PATH = 10;
const MAX_SIGNATURE_CHECKS = 64;

function fail(alert: Failure['alert'], reason: string): Failure {
  return { ok: false, alert, reason };
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How a certificate is named in a reason: its CN, else its whole subject. */
function describe(c: CertInfo): string {
  return `"${c.commonName ?? (c.subject || 'an empty subject')}"`;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : String(ms);
}

/** RFC 5280 §4.2.1.1: when both key identifiers are present they must agree for `parent` to be the issuer. */
function keyIdsAgree(child: CertInfo, parent: CertInfo): boolean {
  return !child.authorityKeyId || !parent.subjectKeyId || sameBytes(child.authorityKeyId, parent.subjectKeyId);
}

/** A trust anchor matches by subject and key (RFC 5280 §6.1.1 (d): trust anchor name and public key). */
function anchorKey(c: CertInfo): string {
  return `${hex(c.subjectDer)}/${hex(c.spki)}`;
}

/** RFC 5280 §6.1.3 (a)(2): the validity period includes `now`. */
function checkValidity(c: CertInfo, now: number): Failure | undefined {
  if (now < c.notBefore) {
    return fail('certificate_expired', `certificate ${describe(c)} is not valid until ${iso(c.notBefore)} (now is ${iso(now)})`);
  }
  if (now > c.notAfter) {
    return fail('certificate_expired', `certificate ${describe(c)} expired on ${iso(c.notAfter)} (now is ${iso(now)})`);
  }
  return undefined;
}

/** Checks one complete path, leaf at 0 and the trust anchor last. */
function validatePath(path: readonly CertInfo[], now: number, name: string | undefined): Failure | undefined {
  for (const c of path) {
    const bad = checkValidity(c, now);
    if (bad) return bad;
  }
  const anchorAt = path.length - 1;
  for (let i = 1; i < path.length; i++) {
    const ca = path[i]!;
    const issued = path[i - 1]!;
    // RFC 5280 §6.1.4 (k): an issuer must be a CA (basicConstraints cA=TRUE). A v1/v2 trust anchor has no
    // extensions at all; being in the root store is its out-of-band assurance.
    const v1Anchor = i === anchorAt && ca.version < 3;
    if (!ca.isCA && !v1Anchor) {
      return fail('bad_certificate', `certificate ${describe(ca)} issued ${describe(issued)} but is not a CA certificate (basicConstraints cA is not TRUE)`);
    }
    // RFC 5280 §6.1.4 (n): "If a key usage extension is present, verify that the keyCertSign bit is set."
    if (ca.keyUsage !== undefined && (ca.keyUsage & KeyUsage.keyCertSign) === 0) {
      return fail('bad_certificate', `certificate ${describe(ca)} is not allowed to sign certificates (keyUsage lacks keyCertSign)`);
    }
    // RFC 5280 §4.2.1.9: pathLenConstraint is the maximum number of non-self-issued intermediate
    // certificates that may follow this one in a path; here that is every CA between it and the leaf.
    if (ca.pathLen !== undefined && i - 1 > ca.pathLen) {
      return fail('bad_certificate', `certificate ${describe(ca)} allows ${ca.pathLen} intermediate CA(s) below it, but the chain has ${i - 1}`);
    }
  }
  // RFC 5280 §4.2: a certificate with an unrecognised critical extension MUST be rejected (the trust anchor's
  // extensions are not processed: §6.1.1 (d) takes only its name and key).
  for (let i = 0; i < anchorAt; i++) {
    const c = path[i]!;
    if (c.unhandledCriticalExtensions.length > 0) {
      return fail('unsupported_certificate', `certificate ${describe(c)} has a critical extension this client does not support (${c.unhandledCriticalExtensions.join(', ')})`);
    }
  }
  const leaf = path[0]!;
  // RFC 8446 §4.4.2.2 and RFC 5280 §4.2.1.3: the server signs CertificateVerify with this key.
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & KeyUsage.digitalSignature) === 0) {
    return fail('bad_certificate', `certificate ${describe(leaf)} may not be used for signing (keyUsage lacks digitalSignature)`);
  }
  // RFC 5280 §4.2.1.12: with extKeyUsage present the key is for the listed purposes only. anyExtendedKeyUsage
  // is accepted as well, as §4.2.1.12 defines it to mean any purpose.
  const eku = leaf.extendedKeyUsage;
  if (eku !== undefined && !eku.includes(Oid.serverAuth) && !eku.includes(Oid.anyExtendedKeyUsage)) {
    return fail('bad_certificate', `certificate ${describe(leaf)} is not for TLS servers (extendedKeyUsage lacks serverAuth)`);
  }
  if (name !== undefined) {
    const mismatch = checkServerIdentity(leaf, name);
    if (mismatch) return fail('bad_certificate', mismatch);
  }
  return undefined;
}

/** Verifies a server's chain for `name` at `now` against `roots`. Never throws on the peer's bytes. */
export function verifyServerChain(opts: VerifyChainOptions): VerifyOutcome {
  const { chain, roots, now, name, crypto } = opts;
  if (chain.length === 0) return fail('certificate_unknown', 'the server sent no certificate');
  const parsedLeaf = parseCertificate(chain[0]!);
  if (!parsedLeaf.ok) return fail('bad_certificate', `the server's certificate could not be read (${parsedLeaf.error})`);
  const leaf = parsedLeaf.value;
  const intermediates: CertInfo[] = [];
  for (const der of chain.slice(1, MAX_PATH * 2)) {
    const p = parseCertificate(der);
    if (p.ok) intermediates.push(p.value); // unreadable extras are ignored, like unrelated ones
  }

  const anchors = new Map<string, CertInfo>();
  const rootsBySubject = new Map<string, CertInfo[]>();
  for (const r of roots) {
    anchors.set(anchorKey(r), r);
    const k = hex(r.subjectDer);
    const list = rootsBySubject.get(k);
    if (list) list.push(r);
    else rootsBySubject.set(k, [r]);
  }

  let firstPathError: Failure | undefined;
  let signatureError: Failure | undefined;
  let checks = 0;
  let deepest = leaf; // the top of the longest path built, for the unknown_ca reason
  let deepestLen = 0;
  const onPath = new Set<string>();

  // Depth-first path building (RFC 5280 §6 leaves the building to the implementation): candidates for the
  // issuer of `cert` are roots, then sent certificates, whose subject equals its issuer and whose key ids agree.
  const build = (path: CertInfo[]): boolean => {
    const cert = path[path.length - 1]!;
    if (path.length > deepestLen) {
      deepest = cert;
      deepestLen = path.length;
    }
    const anchor = anchors.get(anchorKey(cert));
    if (anchor) {
      // The sent certificate is itself a trusted root: the path ends at the root store's copy.
      const full = [...path.slice(0, -1), anchor];
      const bad = validatePath(full, now, name);
      if (!bad) return true;
      firstPathError ??= bad;
      return false;
    }
    if (path.length >= MAX_PATH) return false;
    const issuerKey = hex(cert.issuerDer);
    const candidates = [
      ...(rootsBySubject.get(issuerKey) ?? []),
      ...intermediates.filter((c) => hex(c.subjectDer) === issuerKey),
    ];
    for (const cand of candidates) {
      const id = anchorKey(cand);
      if (onPath.has(id) || !keyIdsAgree(cert, cand)) continue;
      if (cert.signatureScheme === undefined) {
        signatureError ??= fail('unsupported_certificate', `certificate ${describe(cert)} is signed with an algorithm this client does not support (${cert.signatureAlgorithm})`);
        continue;
      }
      if (++checks > MAX_SIGNATURE_CHECKS) return false;
      // RFC 5280 §6.1.3 (a)(1): the signature verifies with the working public key (the issuer's).
      if (!crypto.verify(cert.signatureScheme, cand.publicKey, cert.tbs, cert.signature)) {
        signatureError ??= fail('bad_certificate', `the signature on certificate ${describe(cert)} does not verify with the key of its issuer ${describe(cand)}`);
        continue;
      }
      onPath.add(id);
      const done = build([...path, cand]);
      onPath.delete(id);
      if (done) return true;
    }
    return false;
  };

  onPath.add(anchorKey(leaf));
  if (build([leaf])) return { ok: true };
  if (firstPathError) return firstPathError;
  if (signatureError) return signatureError;
  const top = sameBytes(deepest.issuerDer, deepest.subjectDer)
    ? `${describe(deepest)} is self-signed and not a trusted root`
    : `${describe(deepest)} is issued by "${deepest.issuer || 'an empty name'}", which is not a trusted root`;
  return fail('unknown_ca', `certificate chain does not lead to a trusted CA: ${top}`);
}

/** The parsable certificates of a PEM bundle (e.g. /etc/ssl/certs/ca-certificates.crt); others are skipped. */
export function loadRoots(pemText: string): CertInfo[] {
  const out: CertInfo[] = [];
  for (const der of pemDecodeAll(pemText, 'CERTIFICATE')) {
    const p = parseCertificate(der);
    if (p.ok) out.push(p.value);
  }
  return out;
}

/** A ClientConfig.verify callback over a fixed root store. */
export function serverChainVerifier(
  roots: readonly CertInfo[],
  crypto: CryptoProvider,
): (chain: Uint8Array[], now: number, name: string | undefined) => VerifyOutcome {
  return (chain, now, name) => verifyServerChain({ chain, roots, now, name, crypto });
}
