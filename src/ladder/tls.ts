// Follows the TLS records of one TCP connection, both directions, and names what they carry: the
// handshake messages in the clear, and — with the capture's key log — the protected ones decrypted
// (RFC 8446 §7.3 keys from the logged traffic secrets, §5.2 AEAD with a per-direction sequence number).

import { parseAlert } from '../tls/alerts.js';
import { CipherSuite, ContentType, HandshakeType, NamedGroup, TLS13, nameOf } from '../tls/constants.js';
import { suiteHash, type CryptoProvider } from '../tls/crypto/provider.js';
import { findExtension } from '../tls/extensions.js';
import {
  HandshakeReassembler,
  describeHandshake,
  parseHandshakeBody,
  type ClientHello,
  type HandshakeMessage,
} from '../tls/messages/index.js';
import { RecordProtection, RecordReader, isRecordError, type RecordFrame } from '../tls/record.js';
import { HttpTracker } from './http.js';
import type { KeyLog } from './keylog.js';
import type { Note, Side, TlsInfo } from './model.js';

/** RFC 8446 §4 and RFC 5246 §7.4 HandshakeType names, for messages the TLS 1.3 codec does not parse. */
const HANDSHAKE_NAMES: Record<number, string> = {
  0: 'HelloRequest',
  1: 'ClientHello',
  2: 'ServerHello',
  4: 'NewSessionTicket',
  5: 'EndOfEarlyData',
  8: 'EncryptedExtensions',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
  20: 'Finished',
  24: 'KeyUpdate',
};

interface Direction {
  reader: RecordReader;
  /** Handshake messages from plaintext records (ClientHello, ServerHello, HRR; TLS 1.2's first flight). */
  plain: HandshakeReassembler;
  /** Handshake messages from decrypted records (RFC 8446 §5.1: they never span a key change). */
  protectedHs: HandshakeReassembler;
  /** The AEAD state for this direction's protected records, when the key log has the secret. */
  protection: RecordProtection | undefined;
  /** This direction has sent its Finished (or, without keys, is guessed to have). */
  handshakeDone: boolean;
  /** TLS 1.2: a ChangeCipherSpec was sent, so later handshake records are encrypted. */
  ccsSent: boolean;
  protectedRecords: number;
  failed: boolean;
  /** HTTP/1.x messages in the decrypted application data. */
  http: HttpTracker;
  /** Application keys were looked up at the guessed end of the handshake (no handshake keys logged). */
  triedApplicationKeys: boolean;
}

function direction(): Direction {
  return {
    reader: new RecordReader(),
    plain: new HandshakeReassembler(),
    protectedHs: new HandshakeReassembler(),
    protection: undefined,
    handshakeDone: false,
    ccsSent: false,
    protectedRecords: 0,
    failed: false,
    http: new HttpTracker(),
    triedApplicationKeys: false,
  };
}

const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

/** Whether a stream's first bytes look like a TLS handshake record (RFC 8446 §5.1: type 22, version 0x03xx). */
export function looksLikeTls(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === ContentType.handshake && bytes[1] === 0x03 && bytes[2]! <= 0x04;
}

export class TlsConversation {
  readonly info: TlsInfo = { version: 'TLS', keysFound: false, decryptedRecords: 0, opaqueRecords: 0 };
  private readonly dirs: Record<Side, Direction> = { A: direction(), B: direction() };
  private clientSide: Side | undefined;
  private clientRandom: Uint8Array | undefined;
  private suite: CipherSuite | undefined;
  private hashLen: number | undefined;
  private tls13 = false;
  /** A ServerHello without supported_versions = 0x0304 was seen: TLS 1.2 or older (RFC 8446 §4.1.3). */
  private tls12 = false;

  constructor(
    private readonly keyLog: KeyLog,
    private readonly crypto: CryptoProvider,
  ) {
    this.dirs.A.http.peer = this.dirs.B.http;
    this.dirs.B.http.peer = this.dirs.A.http;
  }

  /** Feeds in-order stream bytes sent by `side`; returns the notes for the records they completed. */
  push(side: Side, bytes: Uint8Array): Note[] {
    const d = this.dirs[side];
    const notes: Note[] = [];
    if (d.failed) return notes;
    d.reader.push(bytes);
    for (;;) {
      const f = d.reader.next();
      if (f === undefined) break;
      if (isRecordError(f)) {
        d.failed = true;
        notes.push({ kind: 'tls', message: 'not TLS', detail: `record layer: ${f.reason}; the rest of this direction is not decoded`, protection: 'plaintext' });
        break;
      }
      try {
        this.record(side, d, f, notes);
      } catch (e) {
        // The codecs report peer faults as values; anything thrown is a bug, but a capture must not crash the tool.
        d.failed = true;
        notes.push({ kind: 'tls', message: 'undecodable record', detail: e instanceof Error ? e.message : String(e), protection: 'plaintext' });
        break;
      }
    }
    return notes;
  }

  private record(side: Side, d: Direction, f: RecordFrame, notes: Note[]): void {
    switch (f.contentType) {
      case ContentType.change_cipher_spec:
        // RFC 8446 §5 / Appendix D.4: the middlebox-compatibility record; in TLS 1.2 it switches keys (RFC 5246 §7.1).
        d.ccsSent = true;
        notes.push({ kind: 'tls', message: 'ChangeCipherSpec', detail: '', protection: 'plaintext' });
        return;
      case ContentType.alert: {
        if (d.ccsSent && this.tls12) {
          notes.push({ kind: 'tls', message: 'encrypted alert', detail: `${f.fragment.length} B`, protection: 'encrypted' });
          return;
        }
        notes.push(alertNote(f.fragment, 'plaintext'));
        return;
      }
      case ContentType.handshake: {
        if (d.ccsSent && this.tls12) {
          // RFC 5246 §7.1: after ChangeCipherSpec the handshake (Finished) is encrypted under the new keys.
          d.handshakeDone = true;
          notes.push({ kind: 'tls', message: 'encrypted handshake', detail: `${f.fragment.length} B (Finished)`, protection: 'encrypted' });
          return;
        }
        d.plain.push(f.fragment);
        this.drain(side, d, d.plain, 'plaintext', notes);
        return;
      }
      case ContentType.application_data:
        this.protectedRecord(side, d, f, notes);
        return;
    }
  }

  private protectedRecord(side: Side, d: Direction, f: RecordFrame, notes: Note[]): void {
    d.protectedRecords++;
    let guessed: 'handshake' | 'application' | undefined;
    if (d.protection === undefined) {
      guessed = this.guessPhase(side, d);
      // A key log with only the application secrets (some loggers write no others): start decrypting
      // where the handshake is guessed to end.
      if (guessed === 'application' && this.tls13 && !d.triedApplicationKeys) {
        d.triedApplicationKeys = true;
        d.protection = this.protection(side === this.clientSide ? 'CLIENT_TRAFFIC_SECRET_0' : 'SERVER_TRAFFIC_SECRET_0');
      }
    }
    if (d.protection !== undefined) {
      const r = d.protection.open(f);
      if (!isRecordError(r)) {
        this.info.decryptedRecords++;
        if (r.contentType === ContentType.handshake) {
          d.protectedHs.push(r.content);
          this.drain(side, d, d.protectedHs, 'decrypted', notes);
        } else if (r.contentType === ContentType.alert) {
          notes.push(alertNote(r.content, 'decrypted'));
        } else {
          notes.push({ kind: 'tls', message: 'Application Data', detail: `${r.content.length} B`, protection: 'decrypted' });
          for (const line of d.http.push(r.content)) notes.push({ kind: 'http', line, overTls: true });
        }
        return;
      }
      this.info.opaqueRecords++;
      notes.push({ kind: 'tls', message: 'encrypted record', detail: `${f.fragment.length} B, not decrypted: ${r.reason}`, protection: 'encrypted' });
      return;
    }
    this.info.opaqueRecords++;
    notes.push({
      kind: 'tls',
      message: guessed === 'handshake' ? 'encrypted handshake' : 'encrypted application data',
      detail: `${f.fragment.length} B`,
      protection: 'encrypted',
    });
  }

  /**
   * Without keys the content type is hidden (RFC 8446 §5.2): guess by position. A direction's protected
   * records are handshake until its Finished; the server's flight ends when the client's first protected
   * record appears, and the client's first protected record is its Finished.
   */
  private guessPhase(side: Side, d: Direction): 'handshake' | 'application' {
    if (!this.tls13 || d.handshakeDone) return 'application';
    if (side === this.clientSide) {
      d.handshakeDone = true;
      return 'handshake';
    }
    if (this.clientSide !== undefined && this.dirs[this.clientSide].protectedRecords > 0) {
      d.handshakeDone = true;
      return 'application';
    }
    return 'handshake';
  }

  private drain(side: Side, d: Direction, hs: HandshakeReassembler, protection: 'plaintext' | 'decrypted', notes: Note[]): void {
    for (;;) {
      const m = hs.next();
      if (m === undefined) return;
      if ('error' in m) {
        notes.push({ kind: 'tls', message: 'bad handshake message', detail: m.error.reason, protection });
        d.failed = true;
        return;
      }
      const parsed = parseHandshakeBody(m.msgType, m.body, this.hashLen !== undefined ? { hashLen: this.hashLen } : {});
      if (!parsed.ok) {
        notes.push({ kind: 'tls', message: HANDSHAKE_NAMES[m.msgType] ?? `handshake type ${m.msgType}`, detail: '', protection });
        // Still learn what the ladder needs from the raw bytes (a TLS 1.2 hello, an extension our codec refuses).
        if (m.msgType === HandshakeType.client_hello && m.body.length >= 34) this.clientHello(side, m.body.subarray(2, 34));
        if (m.msgType === HandshakeType.server_hello && !this.tls13) {
          // A ServerHello the TLS 1.3 codec refuses is an older version's (RFC 5246 §7.4.1.3 allows what 8446 forbids).
          this.tls12 = true;
          this.info.version = 'TLS 1.2 or older';
        }
        continue;
      }
      const { message, detail } = parsed.value.type === 'client_hello' ? clientHelloNote(parsed.value) : describeHandshake(parsed.value);
      notes.push({ kind: 'tls', message, detail, protection });
      this.handshake(side, d, parsed.value);
    }
  }

  private clientHello(side: Side, random: Uint8Array): void {
    this.clientSide = side;
    this.clientRandom = random.slice();
    this.info.keysFound = this.keyLog.has(this.clientRandom);
  }

  private handshake(side: Side, d: Direction, msg: HandshakeMessage): void {
    switch (msg.type) {
      case 'client_hello': {
        this.clientHello(side, msg.random);
        const sni = findExtension(msg.extensions, 'server_name');
        if (sni?.hostName !== undefined) this.info.serverName = sni.hostName;
        return;
      }
      case 'server_hello': {
        // RFC 8446 §4.1.4: a HelloRetryRequest is TLS 1.3 only; the real ServerHello follows.
        if (msg.isHelloRetryRequest) return;
        const sv = findExtension(msg.extensions, 'supported_versions_server');
        this.tls13 = sv?.version === TLS13;
        this.tls12 = !this.tls13;
        this.info.version = this.tls13 ? 'TLS 1.3' : msg.legacyVersion === 0x0303 ? 'TLS 1.2' : `TLS 0x${msg.legacyVersion.toString(16)}`;
        this.info.suite = nameOf(CipherSuite, msg.cipherSuite);
        if (!this.tls13) return;
        const known = Object.values(CipherSuite) as number[];
        if (!known.includes(msg.cipherSuite)) return;
        this.suite = msg.cipherSuite as CipherSuite;
        this.hashLen = this.crypto.hash(suiteHash(this.suite)).outputLen;
        // RFC 8446 §7.3: from here each side protects with [sender]_handshake_traffic_secret.
        const client = this.clientSide ?? other(side);
        this.dirs[side].protection = this.protection(client === side ? 'CLIENT_HANDSHAKE_TRAFFIC_SECRET' : 'SERVER_HANDSHAKE_TRAFFIC_SECRET');
        this.dirs[other(side)].protection = this.protection(client === side ? 'SERVER_HANDSHAKE_TRAFFIC_SECRET' : 'CLIENT_HANDSHAKE_TRAFFIC_SECRET');
        return;
      }
      case 'encrypted_extensions': {
        const alpn = findExtension(msg.extensions, 'alpn');
        if (alpn?.protocols[0] !== undefined) this.info.alpn = alpn.protocols[0];
        return;
      }
      case 'finished':
        // RFC 8446 §7.1/§7.3: after its Finished a side protects with [sender]_application_traffic_secret_0.
        d.handshakeDone = true;
        if (d.protection !== undefined) {
          d.protection = this.protection(side === this.clientSide ? 'CLIENT_TRAFFIC_SECRET_0' : 'SERVER_TRAFFIC_SECRET_0');
        }
        return;
      case 'key_update':
        // RFC 8446 §4.6.3: "the sender MUST send all its traffic using the next generation of keys" after it.
        if (d.protection !== undefined) d.protection = d.protection.nextGeneration();
        return;
      default:
        return;
    }
  }

  private protection(label: string): RecordProtection | undefined {
    if (this.clientRandom === undefined || this.suite === undefined) return undefined;
    const secret = this.keyLog.get(this.clientRandom, label);
    if (secret === undefined) return undefined;
    const hash = this.crypto.hash(suiteHash(this.suite));
    if (secret.length !== hash.outputLen) return undefined;
    return new RecordProtection(this.crypto, this.suite, hash, secret);
  }
}

/** A ClientHello in a few words (its full suite list would not fit a diagram): SNI, ALPN, key shares, counts. */
function clientHelloNote(msg: ClientHello): { message: string; detail: string } {
  const parts: string[] = [];
  const sni = findExtension(msg.extensions, 'server_name');
  if (sni?.hostName !== undefined) parts.push(`sni=${sni.hostName}`);
  const alpn = findExtension(msg.extensions, 'alpn');
  if (alpn) parts.push(`alpn=${alpn.protocols.join(',')}`);
  const shares = findExtension(msg.extensions, 'key_share_client');
  if (shares) parts.push(`key_share=${shares.shares.map((s) => nameOf(NamedGroup, s.group)).join(',')}`);
  const versions = findExtension(msg.extensions, 'supported_versions_client');
  if (versions?.versions.includes(TLS13)) parts.push('TLS 1.3');
  if (findExtension(msg.extensions, 'pre_shared_key_client')) parts.push('psk');
  if (findExtension(msg.extensions, 'early_data')) parts.push('early_data');
  parts.push(`${msg.cipherSuites.length} suites`);
  return { message: 'ClientHello', detail: parts.join(' ') };
}

function alertNote(body: Uint8Array, protection: 'plaintext' | 'decrypted'): Note {
  const a = parseAlert(body);
  if (a === undefined) return { kind: 'tls', message: 'Alert', detail: `malformed (${body.length} B)`, protection };
  // RFC 8446 §6: AlertLevel warning(1), fatal(2).
  const level = a.level === 1 ? 'warning' : a.level === 2 ? 'fatal' : `level ${a.level}`;
  return { kind: 'tls', message: 'Alert', detail: `${level} ${a.name}`, protection };
}
