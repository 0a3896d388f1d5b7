// Typed records of the TLS 1.3 handshake messages and extensions (RFC 8446 §4). Parsers in this folder
// produce these from untrusted bytes (strict lengths, typed errors); serializers write them back.
// Extensions are kept as an ordered list of typed entries so duplicates and order can be checked.

import type { CipherSuite, HandshakeType, NamedGroup, SignatureScheme } from '../constants.js';

/** RFC 8446 §4.2.8: KeyShareEntry. */
export interface KeyShareEntry {
  group: NamedGroup | number;
  keyExchange: Uint8Array;
}

/** RFC 8446 §4.2.11: PskIdentity. */
export interface PskIdentity {
  identity: Uint8Array;
  obfuscatedTicketAge: number;
}

/**
 * One extension, decoded by where it appears. `raw` kinds are extensions tunstack does not interpret
 * (kept so that unknown ones are skipped and duplicates still detected).
 */
export type Extension =
  | { type: 'server_name'; hostName: string | undefined } // RFC 6066 §3; empty in EE/SH acknowledgements
  | { type: 'supported_groups'; groups: number[] }
  | { type: 'signature_algorithms'; schemes: number[] }
  | { type: 'signature_algorithms_cert'; schemes: number[] }
  | { type: 'alpn'; protocols: string[] } // RFC 7301 §3.1: exactly one in server messages
  | { type: 'supported_versions_client'; versions: number[] }
  | { type: 'supported_versions_server'; version: number }
  | { type: 'key_share_client'; shares: KeyShareEntry[] }
  | { type: 'key_share_server'; share: KeyShareEntry }
  | { type: 'key_share_hrr'; group: number }
  | { type: 'cookie'; cookie: Uint8Array }
  | { type: 'psk_key_exchange_modes'; modes: number[] }
  | { type: 'pre_shared_key_client'; identities: PskIdentity[]; binders: Uint8Array[] }
  | { type: 'pre_shared_key_server'; selectedIdentity: number }
  | { type: 'early_data'; maxEarlyDataSize: number | undefined } // a u32 only in NewSessionTicket
  | { type: 'record_size_limit'; limit: number } // RFC 8449 §4: 64..2^14+1
  | { type: 'raw'; code: number; data: Uint8Array };

/** Where an extension list sits; decides how key_share, supported_versions, pre_shared_key decode. */
export type ExtensionContext =
  | 'client_hello'
  | 'server_hello'
  | 'hello_retry_request'
  | 'encrypted_extensions'
  | 'certificate'
  | 'certificate_request'
  | 'new_session_ticket';

export interface ClientHello {
  type: 'client_hello';
  legacyVersion: number;
  random: Uint8Array; // 32 bytes
  legacySessionId: Uint8Array; // 0..32 bytes
  cipherSuites: number[];
  legacyCompressionMethods: Uint8Array;
  extensions: Extension[];
  /**
   * Byte length of the encoded ClientHello handshake message (header included) up to, not including,
   * the binders list of pre_shared_key — what the PSK binder's transcript covers (RFC 8446 §4.2.11.2).
   * Set by the parser when a pre_shared_key extension is present.
   */
  truncatedLength?: number;
}

/** A ServerHello, or a HelloRetryRequest when `random` equals HELLO_RETRY_REQUEST_RANDOM (RFC 8446 §4.1.3). */
export interface ServerHello {
  type: 'server_hello';
  legacyVersion: number;
  random: Uint8Array;
  legacySessionIdEcho: Uint8Array;
  cipherSuite: CipherSuite | number;
  legacyCompressionMethod: number;
  extensions: Extension[];
  isHelloRetryRequest: boolean;
}

export interface EncryptedExtensions {
  type: 'encrypted_extensions';
  extensions: Extension[];
}

export interface CertificateEntry {
  data: Uint8Array; // DER X.509
  extensions: Extension[];
}

export interface Certificate {
  type: 'certificate';
  requestContext: Uint8Array;
  entries: CertificateEntry[];
}

export interface CertificateRequest {
  type: 'certificate_request';
  requestContext: Uint8Array;
  extensions: Extension[];
}

export interface CertificateVerify {
  type: 'certificate_verify';
  scheme: SignatureScheme | number;
  signature: Uint8Array;
}

export interface Finished {
  type: 'finished';
  verifyData: Uint8Array; // length = hash length; checked by the state machine, not the codec
}

export interface NewSessionTicket {
  type: 'new_session_ticket';
  lifetime: number; // seconds, ≤ 604800 (RFC 8446 §4.6.1)
  ageAdd: number;
  nonce: Uint8Array;
  ticket: Uint8Array; // 1..2^16-1
  extensions: Extension[];
}

export interface EndOfEarlyData {
  type: 'end_of_early_data';
}

export interface KeyUpdate {
  type: 'key_update';
  updateRequested: boolean; // RFC 8446 §4.6.3: 0 = update_not_requested, 1 = update_requested, else illegal_parameter
}

export type HandshakeMessage =
  | ClientHello
  | ServerHello
  | EncryptedExtensions
  | Certificate
  | CertificateRequest
  | CertificateVerify
  | Finished
  | NewSessionTicket
  | EndOfEarlyData
  | KeyUpdate;

/** Why a message did not decode: becomes a decode_error or illegal_parameter alert (RFC 8446 §6.2). */
export interface MessageError {
  alert: 'decode_error' | 'illegal_parameter' | 'unexpected_message';
  reason: string;
}

export type { HandshakeType };
