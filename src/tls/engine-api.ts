// The surface of a sans-IO TLS 1.3 connection (server.ts, client.ts): bytes from TCP and `now` in,
// bytes for TCP and events out. The socket layer (src/socket/tls-socket.ts) drives it; tests drive it
// directly, client against server, with no I/O at all.

import type { AlertDescription, CipherSuite, NamedGroup, SignatureScheme } from './constants.js';
import type { CryptoProvider, SigningKey } from './crypto/provider.js';

/** The NSS key-log labels (https://tlswg.org/sslkeylogfile): one per secret a connection derives. */
export type KeyLogLabel =
  | 'CLIENT_EARLY_TRAFFIC_SECRET'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0'
  | 'EXPORTER_SECRET'
  | 'EARLY_EXPORTER_SECRET';

/** A certificate chain (leaf first, DER) with its private key, and the names it serves (for SNI). */
export interface CertifiedKey {
  chain: Uint8Array[];
  key: SigningKey;
  /** DNS names and IP addresses from the leaf's SAN (lowercase); SNI picks the first entry matching. */
  names: string[];
}

/** Outcome of certificate verification, as the client's verifier reports it. */
export type VerifyOutcome =
  | { ok: true }
  | {
      ok: false;
      alert: 'bad_certificate' | 'unsupported_certificate' | 'certificate_expired' | 'certificate_unknown' | 'unknown_ca';
      reason: string;
    };

/** What a client keeps to resume (RFC 8446 §4.6.1). Opaque to the user; serialisable for `-sess_out`-like use. */
export interface ResumptionTicket {
  serverName: string | undefined;
  suite: CipherSuite;
  ticket: Uint8Array;
  psk: Uint8Array;
  ageAdd: number;
  /** `now` (ms) when the ticket was received, and its lifetime in seconds. */
  receivedAt: number;
  lifetime: number;
  maxEarlyData: number;
  alpn: string | undefined;
}

export interface CommonConfig {
  crypto: CryptoProvider;
  /** Preference order; default all three, AES-128-GCM first. */
  cipherSuites?: CipherSuite[];
  /** Preference order; default x25519, secp256r1, secp384r1. The client sends a key share for the first. */
  groups?: NamedGroup[];
  /** ALPN protocols, preferred first (e.g. ['http/1.1']). */
  alpn?: string[];
  /** RFC 8449 record_size_limit to announce (default 2^14 + 1, i.e. none in effect). */
  recordSizeLimit?: number;
  /** Pad every protected record to a multiple of this many bytes (0 = no padding; RFC 8446 §5.4). */
  padTo?: number;
}

export interface ServerConfig extends CommonConfig {
  /** At least one; the first is the default when SNI matches none (or is absent). */
  certificates: CertifiedKey[];
  /** Send this many NewSessionTickets after the handshake (default 2; 0 disables resumption). */
  tickets?: number;
  /** 32 random bytes keying the self-encrypted tickets and HRR cookies; shared by every connection of a server. */
  ticketKey: Uint8Array;
  /** Ticket lifetime in seconds (default 7200). */
  ticketLifetime?: number;
  /** Always send a HelloRetryRequest unless the client's share is for this group (tests; default none). */
  requireGroup?: NamedGroup;
}

export interface ClientConfig extends CommonConfig {
  /** server_name to send (RFC 6066); omitted for IP literals, as RFC 6066 §3 requires. */
  serverName?: string;
  /** The name or IP the certificate must be valid for (defaults to serverName). */
  verifyName?: string;
  /**
   * Verifies the server's chain; absent = accept anything (the CLI's loud --insecure). `now` is the
   * engine's clock (what the driver passes to handleBytes, a monotonic count in the socket layer):
   * a verifier that checks validity dates needs calendar time and takes it from its own side — the
   * socket layer's verifier (src/socket/tls-connect.ts) reads the wall clock; tests pass fixed dates.
   */
  verify?: (chain: Uint8Array[], now: number, name: string | undefined) => VerifyOutcome;
  /** Offer this ticket for PSK resumption (psk_dhe_ke). */
  resume?: ResumptionTicket;
  /** Send the middlebox-compatibility ChangeCipherSpec and a 32-byte legacy_session_id (default true). */
  middleboxCompat?: boolean;
}

/** A one-line description of a handshake message for `--trace`. */
export interface HandshakeTrace {
  direction: 'in' | 'out';
  message: string; // "ClientHello", "HelloRetryRequest", "KeyUpdate", "Alert"...
  detail: string; // "suites=[…] groups=[…] sni=… alpn=…", "chosen TLS_AES_128_GCM_SHA256 x25519"…
}

export interface HandshakeSummary {
  suite: CipherSuite;
  group: NamedGroup | undefined; // undefined for psk_ke (not offered by tunstack)
  signatureScheme: SignatureScheme | undefined; // undefined when resumed
  alpn: string | undefined;
  serverName: string | undefined;
  resumed: boolean;
  helloRetry: boolean;
}

export type TlsEvent =
  /** A secret was derived: write it to SSLKEYLOGFILE / the capture's DSB before the records it protects. */
  | { type: 'secret'; label: KeyLogLabel; clientRandom: Uint8Array; secret: Uint8Array }
  | { type: 'trace'; trace: HandshakeTrace }
  | { type: 'handshake'; summary: HandshakeSummary }
  | { type: 'data'; data: Uint8Array }
  | { type: 'ticket'; ticket: ResumptionTicket }
  | { type: 'key-update'; direction: 'sent' | 'received'; requested: boolean }
  /** The peer sent close_notify: no more data will arrive (RFC 8446 §6.1). */
  | { type: 'peer-closed' }
  /** The connection failed: an alert was received, or sent (after which the output holds it). */
  | { type: 'failed'; alert: AlertDescription; sent: boolean; reason: string };

export interface TlsConnection {
  readonly role: 'client' | 'server';
  /** The current `expect*` state's name, for traces and tests. */
  readonly state: string;
  readonly handshakeDone: boolean;
  /** Feed bytes received from TCP. Never throws on peer input: failures become a sent alert + 'failed' event. */
  handleBytes(now: number, bytes: Uint8Array): void;
  /** The client starts the handshake (no-op for a server). */
  start(now: number): void;
  /** Application data; queued until the handshake completes. Throws if the connection is closed or failed. */
  write(data: Uint8Array): void;
  /** Sends close_notify (RFC 8446 §6.1); further writes throw. */
  close(): void;
  /** Sends KeyUpdate (RFC 8446 §4.6.3), asking the peer to update too when `requestPeer`. */
  keyUpdate(requestPeer: boolean): void;
  /** Bytes to write to TCP, or undefined when there are none. */
  pollOutput(): Uint8Array | undefined;
  pollEvent(): TlsEvent | undefined;
}
