// The server identity kept in a state directory: a local CA (ca.pem, ca-key.pem) created on first run and a
// server certificate per address, re-issued when missing, unusable or about to expire. File I/O, so it lives in the socket layer (DESIGN.md
// rule 1): the certificates themselves are made by the pure src/tls/x509/local-ca.ts.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider, PrivateKeyMaterial } from '../tls/crypto/provider.js';
import { loadPrivateKeyPem, publicKeyToSpkiDer } from '../tls/crypto/keys.js';
import { type CertInfo, parseCertificate } from '../tls/x509/certificate.js';
import { parseIpLiteral } from '../tls/x509/hostname.js';
import { createLocalCa, issueCertificate, type Issued, type LeafKeyKind } from '../tls/x509/local-ca.js';
import { pemDecodeAll } from '../tls/x509/pem.js';
import { verifyServerChain } from '../tls/x509/verify.js';

export interface ServerIdentity {
  caPem: string;
  caPath: string;
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  /** True when anything (the CA or the server certificate) was created on this call. */
  created: boolean;
}

export interface ServerIdentityOptions {
  /** The address (IP literal or DNS name) the server certificate is for. */
  address: string;
  crypto: CryptoProvider;
  now: number;
  /** Key type of a newly issued server certificate (default ecdsa-p256); a different existing one is re-issued. */
  keyKind?: LeafKeyKind;
}

const DAY = 86_400_000;
/** Every server certificate also names this, so a client can use `--resolve tunstack.test:…`-style names. */
export const TEST_DNS_NAME = 'tunstack.test';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Writes through a temporary file and a rename, so a crash never leaves half a key; keys are 0600. */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode); // the umask may have narrowed (or the file pre-existed with other bits)
  renameSync(tmp, path);
}

function kindOf(key: PrivateKeyMaterial): LeafKeyKind {
  if (key.kind === 'ec') return key.curve === 'P-256' ? 'ecdsa-p256' : 'ecdsa-p384';
  return key.kind === 'ed25519' ? 'ed25519' : 'rsa-2048';
}

/** A certificate and its key read back from PEM files, when both are readable and belong together. */
function readPair(
  certPath: string,
  keyPath: string,
  crypto: CryptoProvider,
): { issued: Issued; info: CertInfo } | { problem: string } | undefined {
  const haveCert = existsSync(certPath);
  const haveKey = existsSync(keyPath);
  if (!haveCert && !haveKey) return undefined;
  if (!haveCert || !haveKey) return { problem: `${haveCert ? keyPath : certPath} is missing` };
  const certPem = readFileSync(certPath, 'utf8');
  const keyPem = readFileSync(keyPath, 'utf8');
  const der = pemDecodeAll(certPem, 'CERTIFICATE')[0];
  const parsed = der ? parseCertificate(der) : undefined;
  if (!parsed?.ok) return { problem: `${certPath} does not hold a readable certificate` };
  let key: PrivateKeyMaterial;
  try {
    key = loadPrivateKeyPem(keyPem, keyPath);
  } catch (e) {
    return { problem: e instanceof Error ? e.message : String(e) };
  }
  const spki = publicKeyToSpkiDer(crypto.signingKey(key).publicKey);
  if (!sameBytes(spki, parsed.value.spki)) return { problem: `${keyPath} is not the key of ${certPath}` };
  return { issued: { certDer: parsed.value.der, key, certPem, keyPem }, info: parsed.value };
}

/**
 * Makes sure `stateDir` holds a local CA and a server certificate for `opts.address` (IP SAN = the address,
 * DNS SAN tunstack.test), creating or re-issuing what is needed. Throws an Error for a person when an existing
 * CA cannot be used, rather than silently replacing a CA that may already be trusted somewhere.
 */
export function ensureServerIdentity(stateDir: string, opts: ServerIdentityOptions): ServerIdentity {
  const { crypto, now, address } = opts;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const caPath = join(stateDir, 'ca.pem');
  const caKeyPath = join(stateDir, 'ca-key.pem');
  const safe = address.replace(/[^A-Za-z0-9._-]/g, '_');
  const certPath = join(stateDir, `server-${safe}.pem`);
  const keyPath = join(stateDir, `server-${safe}-key.pem`);
  let created = false;

  let ca: Issued;
  let caInfo: CertInfo;
  const existingCa = readPair(caPath, caKeyPath, crypto);
  if (existingCa && 'problem' in existingCa) {
    throw new Error(`the local CA in ${stateDir} cannot be used: ${existingCa.problem}; remove ca.pem and ca-key.pem to create a new one`);
  }
  if (existingCa && existingCa.info.isCA && existingCa.info.notAfter > now + DAY) {
    ({ issued: ca, info: caInfo } = existingCa);
  } else {
    // First run, or the CA has (nearly) expired: a new one. Everything it signed is re-issued below.
    ca = createLocalCa({ crypto, now });
    const parsed = parseCertificate(ca.certDer);
    if (!parsed.ok) throw new Error(`internal error: the new CA certificate does not parse (${parsed.error})`);
    caInfo = parsed.value;
    writeAtomic(caKeyPath, ca.keyPem, 0o600);
    writeAtomic(caPath, ca.certPem, 0o644);
    created = true;
  }

  const wantKind = opts.keyKind;
  const existing = readPair(certPath, keyPath, crypto);
  let server: Issued | undefined;
  if (existing && !('problem' in existing)) {
    // Re-issue unless it chains to this CA, names the address and stays valid for at least another day.
    const stillGood =
      verifyServerChain({ chain: [existing.issued.certDer], roots: [caInfo], now: now + DAY, name: address, crypto }).ok &&
      (wantKind === undefined || kindOf(existing.issued.key) === wantKind);
    if (stillGood) server = existing.issued;
  }
  if (!server) {
    const isIp = parseIpLiteral(address) !== undefined;
    server = issueCertificate({
      ca,
      crypto,
      now,
      commonName: address,
      dnsNames: isIp ? [TEST_DNS_NAME] : [address, TEST_DNS_NAME],
      ipAddresses: isIp ? [address] : [],
      keyKind: wantKind ?? 'ecdsa-p256',
    });
    writeAtomic(keyPath, server.keyPem, 0o600);
    writeAtomic(certPath, server.certPem, 0o644);
    created = true;
  }
  return { caPem: ca.certPem, caPath, certPem: server.certPem, keyPem: server.keyPem, certPath, keyPath, created };
}
