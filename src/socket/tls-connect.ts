// tlsConnect: a TLS 1.3 client on tunstack TCP (an active open, then a client TlsConnection on it),
// with certificate verification against a root store (--cacert, or the system bundle) by default.

import { readFileSync } from 'node:fs';
import { createClientConnection } from '../tls/client.js';
import { nobleProvider } from '../tls/crypto/noble.js';
import type { CryptoProvider } from '../tls/crypto/provider.js';
import type { ClientConfig, ResumptionTicket, VerifyOutcome } from '../tls/engine-api.js';
import type { CertInfo } from '../tls/x509/certificate.js';
import { loadRoots, verifyServerChain } from '../tls/x509/verify.js';
import { parseIpv4Addr } from '../wire/addr.js';
import type { ConnectOptions } from './stack.js';
import type { TcpSocket } from './tcp-socket.js';
import { TlsSocket, type TlsSocketOptions, type TlsTransport } from './tls-socket.js';

/** Where Debian/Ubuntu (and Alpine, Arch) keep the system's trusted roots as one PEM bundle. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

let systemRoots: CertInfo[] | undefined;

/** The system root store (parsed once per process). Throws a one-line Error when the bundle is missing. */
export function systemCaRoots(path = SYSTEM_CA_BUNDLE): CertInfo[] {
  if (path === SYSTEM_CA_BUNDLE && systemRoots) return systemRoots;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the CA bundle ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): pass --cacert FILE or --insecure`);
  }
  const roots = loadRoots(text);
  if (path === SYSTEM_CA_BUNDLE) systemRoots = roots;
  return roots;
}

export interface TlsClientOptions extends Omit<ClientConfig, 'crypto' | 'verify' | 'serverName' | 'verifyName' | 'resume'> {
  /** The server's address: its IP (or name) is what the certificate must be valid for. */
  host: string;
  /** SNI and the name to verify (default: host, and no SNI when host is an IP literal — RFC 6066 §3). */
  servername?: string;
  crypto?: CryptoProvider;
  /** Trusted roots as PEM text or parsed certificates (default: the system bundle). */
  ca?: string | CertInfo[];
  /** Replaces the default verifier entirely. */
  verify?: ClientConfig['verify'];
  /** Accept any certificate (no verification at all). */
  insecure?: boolean;
  /** A ticket from an earlier connection's 'session' event: offer it for resumption (RFC 8446 §2.2). */
  session?: ResumptionTicket;
  /** Wall-clock ms for certificate validity (default Date.now; the engine's `now` is a monotonic clock). */
  wallClock?: () => number;
}

function isIpLiteral(host: string): boolean {
  return parseIpv4Addr(host) !== undefined || host.includes(':');
}

/** The ClientConfig for these options: SNI, the name to verify, and the verifier over the root store. */
export function clientConfig(options: TlsClientOptions): ClientConfig {
  const { host, servername, ca, insecure, session, wallClock, verify: customVerify, crypto: cryptoOpt, ...rest } = options;
  const crypto = cryptoOpt ?? nobleProvider;
  const sni = servername ?? (isIpLiteral(host) ? undefined : host);
  const verifyName = servername ?? host;
  let verify: ClientConfig['verify'];
  if (customVerify) verify = customVerify;
  else if (!insecure) {
    const roots = typeof ca === 'string' ? loadRoots(ca) : ca ?? systemCaRoots();
    const clock = wallClock ?? Date.now;
    // The engine passes its own `now` (monotonic ms); validity periods need the wall clock.
    verify = (chain: Uint8Array[], _now: number, name: string | undefined): VerifyOutcome => {
      const outcome = verifyServerChain({ chain, roots, now: clock(), name: name ?? verifyName, crypto });
      return outcome.ok ? outcome : { ...outcome, reason: `certificate verify failed: ${outcome.reason}` };
    };
  }
  return {
    crypto,
    alpn: ['http/1.1'],
    ...rest,
    ...(sni !== undefined ? { serverName: sni } : {}),
    verifyName,
    ...(verify ? { verify } : {}),
    ...(session ? { resume: session } : {}),
  };
}

/** A client TlsSocket over an existing transport (a TcpSocket, or a node:net Socket). */
export function tlsClientSocket(transport: TlsTransport, options: TlsClientOptions & TlsSocketOptions): TlsSocket {
  const { clock, handshakeTimeoutMs, lingerMs, ...clientOptions } = options;
  return new TlsSocket(transport, createClientConnection(clientConfig(clientOptions)), {
    ...(clock ? { clock } : {}),
    ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
    ...(lingerMs !== undefined ? { lingerMs } : {}),
  });
}

/** What tlsConnect needs of the stack. */
export interface ConnectSource {
  connect(opts: ConnectOptions): TcpSocket;
}

/**
 * tlsConnect(stack, { host, port, servername?, ca?, insecure?, session?, alpn? }) — like tls.connect, on
 * tunstack's TCP. The socket emits 'secureConnect' once the server is verified, or 'error' (a TlsError
 * whose `alert` says what was sent or received).
 */
export function tlsConnect(stack: ConnectSource, options: TlsClientOptions & TlsSocketOptions & { port: number; localPort?: number }): TlsSocket {
  const { port, localPort, ...rest } = options;
  const tcp = stack.connect({ host: options.host, port, noDelay: true, ...(localPort !== undefined ? { localPort } : {}) });
  return tlsClientSocket(tcp, rest);
}
