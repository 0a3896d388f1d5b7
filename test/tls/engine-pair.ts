// Test helpers: an in-process TLS client and server wired back to back with no I/O, a local CA and
// certificates made once per test file, and a pump that moves bytes until both sides are quiet.

import { createClientConnection } from '../../src/tls/client.js';
import { createServerConnection } from '../../src/tls/server.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import type { ClientConfig, ServerConfig, TlsConnection, TlsEvent, CertifiedKey } from '../../src/tls/engine-api.js';
import { createLocalCa, issueCertificate } from '../../src/tls/x509/local-ca.js';
import { parseCertificate } from '../../src/tls/x509/certificate.js';
import { verifyServerChain } from '../../src/tls/x509/verify.js';

export const NOW0 = Date.UTC(2026, 10, 28, 9, 0, 0);

export type KeyKind = 'ecdsa-p256' | 'ecdsa-p384' | 'ed25519' | 'rsa-2048';

let ca: ReturnType<typeof createLocalCa> | undefined;
const leaves = new Map<string, CertifiedKey>();

export function localCa(): ReturnType<typeof createLocalCa> {
  ca ??= createLocalCa({ crypto: nobleProvider, now: NOW0, commonName: 'tunstack test CA' });
  return ca;
}

export function certified(kind: KeyKind = 'ecdsa-p256', names = ['tunstack.test', '198.18.0.2']): CertifiedKey {
  const key = `${kind} ${names.join(',')}`;
  const cached = leaves.get(key);
  if (cached) return cached;
  const issued = issueCertificate({
    ca: localCa(),
    crypto: nobleProvider,
    now: NOW0,
    commonName: names[0]!,
    dnsNames: names.filter((n) => !/^\d+\.\d+\.\d+\.\d+$/.test(n)),
    ipAddresses: names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)),
    keyKind: kind,
  });
  const ck: CertifiedKey = { chain: [issued.certDer], key: nobleProvider.signingKey(issued.key), names };
  leaves.set(key, ck);
  return ck;
}

export function verifier(): ClientConfig['verify'] {
  const root = parseCertificate(localCa().certDer);
  if (!root.ok) throw new Error(root.error);
  return (chain, now, name) => verifyServerChain({ chain, roots: [root.value], now, name, crypto: nobleProvider });
}

export const TICKET_KEY = new Uint8Array(32).fill(7);

export function serverConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  return { crypto: nobleProvider, certificates: [certified()], ticketKey: TICKET_KEY, alpn: ['http/1.1'], ...over };
}

export function clientConfig(over: Partial<ClientConfig> = {}): ClientConfig {
  return { crypto: nobleProvider, serverName: 'tunstack.test', verify: verifier(), alpn: ['http/1.1'], ...over };
}

export interface Side {
  conn: TlsConnection;
  events: TlsEvent[];
  data: () => Uint8Array;
}

function side(conn: TlsConnection): Side {
  const events: TlsEvent[] = [];
  return {
    conn,
    events,
    data: () => {
      const parts = events.flatMap((e) => (e.type === 'data' ? [e.data] : []));
      return Buffer.concat(parts);
    },
  };
}

export interface Pair {
  client: Side;
  server: Side;
  /** Every byte string that went client→server and server→client, in order. */
  wire: { from: 'client' | 'server'; bytes: Uint8Array }[];
  pump: (now?: number, tamper?: (from: 'client' | 'server', bytes: Uint8Array) => Uint8Array | undefined) => void;
}

export function pair(server: Partial<ServerConfig> = {}, client: Partial<ClientConfig> = {}): Pair {
  const c = side(createClientConnection(clientConfig(client)));
  const s = side(createServerConnection(serverConfig(server)));
  const wire: Pair['wire'] = [];
  const pump: Pair['pump'] = (now = NOW0, tamper) => {
    c.conn.start(now);
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const [from, to] of [
        [c, s],
        [s, c],
      ] as const) {
        const name = from === c ? 'client' : 'server';
        for (let ev = from.conn.pollEvent(); ev; ev = from.conn.pollEvent()) from.events.push(ev);
        let out = from.conn.pollOutput();
        if (out && tamper) out = tamper(name, out);
        if (out) {
          wire.push({ from: name, bytes: out });
          to.conn.handleBytes(now, out);
          moved = true;
        }
        for (let ev = to.conn.pollEvent(); ev; ev = to.conn.pollEvent()) to.events.push(ev);
      }
      if (!moved) return;
    }
    throw new Error('pump did not settle');
  };
  return { client: c, server: s, wire, pump };
}

export function eventsOf<T extends TlsEvent['type']>(s: Side, type: T): Extract<TlsEvent, { type: T }>[] {
  for (let ev = s.conn.pollEvent(); ev; ev = s.conn.pollEvent()) s.events.push(ev);
  return s.events.filter((e): e is Extract<TlsEvent, { type: T }> => e.type === type);
}
