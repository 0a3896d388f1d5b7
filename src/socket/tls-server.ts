// TlsServer: a node:tls-like server over any connection source (a tunstack Stack, or node:net):
// each accepted transport becomes a TlsSocket running a server TlsConnection; 'secureConnection'
// after the handshake, 'tlsClientError' for a failed one — which never takes the server down.

import { EventEmitter } from 'node:events';
import { createServerConnection } from '../tls/server.js';
import { loadPrivateKeyPem, publicKeyToSpkiDer } from '../tls/crypto/keys.js';
import type { CryptoProvider } from '../tls/crypto/provider.js';
import type { CertifiedKey, HandshakeTrace, ServerConfig, TlsConnection } from '../tls/engine-api.js';
import { parseCertificate } from '../tls/x509/certificate.js';
import { pemDecodeAll } from '../tls/x509/pem.js';
import { TlsSocket, type TlsTransport } from './tls-socket.js';

/** A listening thing that hands out connections: tunstack's TcpServer, or a net.Server. */
export interface TransportServer extends EventEmitter {
  listen(port: number, callback?: () => void): unknown;
  close(callback?: (err?: Error) => void): unknown;
  address(): unknown;
}

/** What makes TransportServers: a tunstack Stack, or the node:net module itself. */
export interface TransportSource {
  createServer(onConnection: (socket: TlsTransport) => void): TransportServer;
}

export interface TlsServerOptions {
  /** A connection that has not completed the handshake after this many ms is dropped (default 30000; 0 = never). */
  handshakeTimeoutMs?: number;
  /** Milliseconds for the engine's `now` (default performance.now()). */
  clock?: () => number;
  /** Makes the engine for each connection (default createServerConnection; tests substitute). */
  createConnection?: (config: ServerConfig) => TlsConnection;
}

/**
 * Events: 'connection' (the raw transport, at accept), 'secureConnection' (TlsSocket, handshake done),
 * 'tlsClientError' (err, TlsSocket) for a handshake that failed or timed out, 'keylog' (line, TlsSocket)
 * for every secret of every connection, 'tlsTrace' (HandshakeTrace, TlsSocket), 'listening', 'close', 'error'.
 */
export class TlsServer extends EventEmitter {
  readonly transportServer: TransportServer;
  private readonly sockets = new Set<TlsSocket>();
  private readonly handshakeTimeoutMs: number;
  private readonly makeConnection: (config: ServerConfig) => TlsConnection;

  constructor(
    source: TransportSource,
    /** Read for each new connection, so it may be replaced (e.g. new certificates) while listening. */
    public config: ServerConfig,
    private readonly options: TlsServerOptions = {},
  ) {
    super();
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 30_000;
    this.makeConnection = options.createConnection ?? createServerConnection;
    this.transportServer = source.createServer((transport) => this.accept(transport));
    this.transportServer.on('listening', () => this.emit('listening'));
    this.transportServer.on('close', () => this.emit('close'));
    this.transportServer.on('error', (e: Error) => this.emit('error', e));
  }

  listen(port: number, callback?: () => void): this {
    if (callback) this.once('listening', callback);
    this.transportServer.listen(port);
    return this;
  }

  /** Stops accepting; 'close' once the open connections are gone. */
  close(callback?: (err?: Error) => void): this {
    this.transportServer.close(callback);
    return this;
  }

  address(): unknown {
    return this.transportServer.address();
  }

  /** The TLS sockets open right now (handshaking or established). */
  get connections(): number {
    return this.sockets.size;
  }

  private accept(transport: TlsTransport): void {
    this.emit('connection', transport);
    // TLS writes whole flights and records: Nagle would only hold back the last small one.
    transport.setNoDelay?.(true);
    let conn: TlsConnection;
    try {
      conn = this.makeConnection(this.config);
    } catch (e) {
      // A configuration problem (no certificate…): drop this connection, tell the operator.
      transport.destroy();
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const socket = new TlsSocket(transport, conn, {
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
    });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('keylog', (line: Buffer) => this.emit('keylog', line, socket));
    socket.on('tlsTrace', (trace: HandshakeTrace) => this.emit('tlsTrace', trace, socket));
    // Until the handshake completes, errors are the client's: report them, never throw them.
    const onEarlyError = (err: Error) => {
      if (this.listenerCount('tlsClientError') > 0) this.emit('tlsClientError', err, socket);
    };
    socket.on('error', onEarlyError);
    socket.once('secure', () => {
      socket.off('error', onEarlyError);
      // From here the application owns the socket's errors (node:http attaches its own handler);
      // keep a quiet one until it does, so a late error cannot crash the process.
      if (socket.listenerCount('error') === 0) socket.on('error', () => {});
      this.emit('secureConnection', socket);
    });
  }
}

/** createTlsServer(stack, config, onSecureConnection?) — like tls.createServer, on tunstack TCP (or node:net). */
export function createTlsServer(
  source: TransportSource,
  config: ServerConfig,
  listener?: (socket: TlsSocket) => void,
  options?: TlsServerOptions,
): TlsServer {
  const server = new TlsServer(source, config, options);
  if (listener) server.on('secureConnection', listener);
  return server;
}

/**
 * A CertifiedKey from PEM text: the certificate chain (leaf first) and its private key. The SNI names
 * are the leaf's SAN DNS names and IP addresses. Throws an Error that names `source` when unusable.
 */
export function certifiedKeyFromPem(certPem: string, keyPem: string, crypto: CryptoProvider, source = 'certificate'): CertifiedKey {
  const chain = pemDecodeAll(certPem, 'CERTIFICATE');
  if (chain.length === 0) throw new Error(`${source}: no CERTIFICATE block found`);
  const leaf = parseCertificate(chain[0]!);
  if (!leaf.ok) throw new Error(`${source}: the first certificate does not parse (${leaf.error})`);
  const key = crypto.signingKey(loadPrivateKeyPem(keyPem, source));
  const spki = publicKeyToSpkiDer(key.publicKey);
  if (Buffer.compare(Buffer.from(spki), Buffer.from(leaf.value.spki)) !== 0) {
    throw new Error(`${source}: the private key does not belong to the certificate "${leaf.value.subject}"`);
  }
  const names = [...leaf.value.dnsNames, ...leaf.value.ipAddresses].map((n) => n.toLowerCase());
  if (names.length === 0 && leaf.value.commonName) names.push(leaf.value.commonName.toLowerCase());
  return { chain, key, names };
}
