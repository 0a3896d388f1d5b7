// TLS setup shared by `serve --https` and `get https://`: the crypto provider by name, the server's
// certificates (the state directory's local CA, or --cert/--key pairs for SNI), and resumption
// tickets saved to and loaded from a file (`get --resume FILE`).

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { certifiedKeyFromPem } from '../socket/tls-server.js';
import { CipherSuite, NamedGroup } from '../tls/constants.js';
import { nobleProvider } from '../tls/crypto/noble.js';
import { nodeProvider } from '../tls/crypto/node.js';
import type { CryptoProvider } from '../tls/crypto/provider.js';
import type { CertifiedKey, ResumptionTicket, ServerConfig } from '../tls/engine-api.js';
import { ensureServerIdentity, type ServerIdentity } from '../socket/tls-state-dir.js';
import { UsageError } from './errors.js';

/** --tls-provider: noble (pure JS, the default) or node (node:crypto, i.e. OpenSSL). */
export function cryptoProvider(name: string | undefined): CryptoProvider {
  if (name === undefined || name === 'noble') return nobleProvider;
  if (name === 'node') return nodeProvider;
  throw new UsageError(`--tls-provider wants noble or node, not "${name}"`);
}

/**
 * $TUNSTACK_STATE, else ~/.tunstack (under sudo, root's home: the CA belongs to whoever runs the
 * stack). The test suite points TUNSTACK_STATE at a temporary directory.
 */
export function defaultStateDir(): string {
  const fromEnv = process.env.TUNSTACK_STATE;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.tunstack');
}

/** --ciphers: comma-separated TLS 1.3 suite names (openssl's spelling), preferred first. */
export function parseSuites(text: string | undefined): CipherSuite[] | undefined {
  if (text === undefined) return undefined;
  return text.split(/[,:]/).map((name) => {
    const v = (CipherSuite as Record<string, CipherSuite>)[name.trim()];
    if (v === undefined) throw new UsageError(`--ciphers: unknown TLS 1.3 suite "${name}" (${Object.keys(CipherSuite).join(', ')})`);
    return v;
  });
}

const GROUP_NAMES: Record<string, NamedGroup> = {
  x25519: NamedGroup.x25519,
  'p-256': NamedGroup.secp256r1,
  p256: NamedGroup.secp256r1,
  secp256r1: NamedGroup.secp256r1,
  prime256v1: NamedGroup.secp256r1,
  'p-384': NamedGroup.secp384r1,
  p384: NamedGroup.secp384r1,
  secp384r1: NamedGroup.secp384r1,
};

/** --groups: comma- or colon-separated group names (X25519, P-256, P-384), preferred first. */
export function parseGroups(text: string | undefined): NamedGroup[] | undefined {
  if (text === undefined) return undefined;
  return text.split(/[,:]/).map((name) => {
    const v = GROUP_NAMES[name.trim().toLowerCase()];
    if (v === undefined) throw new UsageError(`--groups: unknown group "${name}" (X25519, P-256, P-384)`);
    return v;
  });
}

export interface HttpsSetup {
  config: ServerConfig;
  /** Set when the certificate came from the state directory. */
  identity: ServerIdentity | undefined;
}

/**
 * The server's TLS configuration: with --cert/--key pairs, those (the first is the default, the others
 * are chosen by SNI); otherwise the state directory's local CA and a certificate for `address`,
 * created on first run.
 */
export function httpsServerConfig(opts: {
  address: string;
  stateDir: string;
  certs: readonly string[];
  keys: readonly string[];
  crypto: CryptoProvider;
  cipherSuites?: CipherSuite[] | undefined;
  groups?: NamedGroup[] | undefined;
}): HttpsSetup {
  const { crypto } = opts;
  if (opts.certs.length !== opts.keys.length) {
    throw new UsageError(`--cert and --key come in pairs (got ${opts.certs.length} --cert and ${opts.keys.length} --key)`);
  }
  let certificates: CertifiedKey[];
  let identity: ServerIdentity | undefined;
  if (opts.certs.length > 0) {
    certificates = opts.certs.map((certPath, i) => {
      const keyPath = opts.keys[i]!;
      for (const p of [certPath, keyPath]) if (!existsSync(p)) throw new UsageError(`no such file: ${p}`);
      return certifiedKeyFromPem(readFileSync(certPath, 'utf8'), readFileSync(keyPath, 'utf8'), crypto, certPath);
    });
  } else {
    identity = ensureServerIdentity(opts.stateDir, { address: opts.address, crypto, now: Date.now() });
    certificates = [certifiedKeyFromPem(identity.certPem, identity.keyPem, crypto, identity.certPath)];
  }
  return {
    config: {
      crypto,
      certificates,
      // Tickets and HRR cookies are sealed with a key that lives as long as this process.
      ticketKey: new Uint8Array(randomBytes(32)),
      alpn: ['http/1.1'],
      ...(opts.cipherSuites ? { cipherSuites: opts.cipherSuites } : {}),
      ...(opts.groups ? { groups: opts.groups } : {}),
    },
    identity,
  };
}

// ------------------------------------------------------------------ resumption tickets in a file

interface SavedTicket {
  serverName: string | null;
  suite: number;
  ticket: string;
  psk: string;
  ageAdd: number;
  /** Wall-clock ms when received: the engine's clock is per-process, this file outlives it. */
  receivedAtWall: number;
  lifetime: number;
  maxEarlyData: number;
  alpn: string | null;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** Writes a ticket (as the 'session' event gave it, received at engine time `now`) as JSON, mode 0600. */
export function saveTicket(path: string, t: ResumptionTicket, engineNow: number): void {
  const saved: SavedTicket = {
    serverName: t.serverName ?? null,
    suite: t.suite,
    ticket: hex(t.ticket),
    psk: hex(t.psk),
    ageAdd: t.ageAdd,
    receivedAtWall: Date.now() - (engineNow - t.receivedAt),
    lifetime: t.lifetime,
    maxEarlyData: t.maxEarlyData,
    alpn: t.alpn ?? null,
  };
  writeFileSync(path, JSON.stringify(saved) + '\n', { mode: 0o600 });
}

/** Reads a ticket saved by saveTicket, re-based on this process's engine clock; undefined when absent, unreadable or expired. */
export function loadTicket(path: string, engineNow: number): ResumptionTicket | undefined {
  let saved: SavedTicket;
  try {
    saved = JSON.parse(readFileSync(path, 'utf8')) as SavedTicket;
  } catch {
    return undefined;
  }
  if (typeof saved.ticket !== 'string' || typeof saved.psk !== 'string' || typeof saved.receivedAtWall !== 'number') return undefined;
  const ageMs = Date.now() - saved.receivedAtWall;
  if (ageMs < 0 || ageMs > saved.lifetime * 1000) return undefined;
  return {
    serverName: saved.serverName ?? undefined,
    suite: saved.suite as CipherSuite,
    ticket: unhex(saved.ticket),
    psk: unhex(saved.psk),
    ageAdd: saved.ageAdd,
    receivedAt: engineNow - ageMs,
    lifetime: saved.lifetime,
    maxEarlyData: saved.maxEarlyData,
    alpn: saved.alpn ?? undefined,
  };
}
