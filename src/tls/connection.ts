// What the TLS 1.3 client and server share: the record layer in both directions (epochs of keys),
// handshake message reassembly and the transcript, alerts, application data, KeyUpdate and
// close_notify. server.ts and client.ts subclass it with their `expect*` state machines.

import { AlertDescription, AlertLevel, ContentType, HandshakeType, MAX_PLAINTEXT, type CipherSuite } from './constants.js';
import type { CryptoProvider, HashAlgorithm, RunningHash } from './crypto/provider.js';
import { suiteHash } from './crypto/provider.js';
import { TlsAlert, abort, alertCode, alertName, encodeAlert, parseAlert, type AlertName } from './alerts.js';
import type { CommonConfig, HandshakeTrace, KeyLogLabel, TlsConnection, TlsEvent } from './engine-api.js';
import { nextTrafficSecret, type HandshakeStage, type MasterStage } from './keyschedule.js';
import { HandshakeReassembler, describeHandshake, parseHandshakeBody, serializeHandshake } from './messages/index.js';
import type { HandshakeMessage } from './messages/types.js';
import { RecordProtection, RecordReader, fragment, plaintextRecord } from './record.js';

const EMPTY = new Uint8Array(0);
/** RFC 8446 §5: the middlebox-compatibility ChangeCipherSpec record. */
const CCS_RECORD = new Uint8Array([20, 3, 3, 0, 1, 1]);

/** The state of a connection once the handshake has finished, shared by both roles. */
export type EndState = { name: 'connected' } | { name: 'failed' } | { name: 'closed' };

export abstract class TlsConnectionBase implements TlsConnection {
  abstract readonly role: 'client' | 'server';
  abstract get state(): string;

  protected readonly crypto: CryptoProvider;
  private readonly records = new RecordReader();
  private readonly hsIn = new HandshakeReassembler();
  private readProt: RecordProtection | undefined;
  private writeProt: RecordProtection | undefined;
  private readSecret: Uint8Array | undefined;
  private writeSecret: Uint8Array | undefined;
  private readonly out: Uint8Array[] = [];
  private readonly events: TlsEvent[] = [];
  private eventHead = 0;
  private readonly appQueue: Uint8Array[] = [];
  /** Handshake bytes of the current flight, emitted as records when the flight (or epoch) ends. */
  private flight: Uint8Array[] = [];

  protected suite: CipherSuite | undefined;
  protected hash: HashAlgorithm | undefined;
  protected transcript: RunningHash | undefined;
  /** Transcript bytes seen before the hash is known (a client before ServerHello). */
  private transcriptPending: Uint8Array[] = [];
  protected clientRandom: Uint8Array = EMPTY;

  /** Application data may be read (peer Finished verified) / written (our Finished sent). */
  protected readOpen = false;
  protected writeOpen = false;
  private _handshakeDone = false;
  private closedWrite = false;
  private peerClosed = false;
  protected dead = false;
  /** A ChangeCipherSpec may be dropped: after the first ClientHello, before the peer's Finished (RFC 8446 §5). */
  protected ccsAllowed = false;
  protected ccsSent = false;
  /** Bytes of undecryptable early data still to skip (RFC 8446 §4.2.10), and whether to skip by trial decryption. */
  protected earlySkipBudget = 0;
  protected earlySkipTrial = false;
  protected skipPlainAppData = false;
  /** RFC 8449: the most plaintext (content only) we may put in one record. */
  protected maxWriteFragment = MAX_PLAINTEXT;
  protected readonly padTo: number;

  constructor(config: CommonConfig) {
    this.crypto = config.crypto;
    this.padTo = config.padTo ?? 0;
  }

  get handshakeDone(): boolean {
    return this._handshakeDone;
  }

  // ---- the TlsConnection surface -------------------------------------------------------------

  start(_now: number): void {}

  handleBytes(now: number, bytes: Uint8Array): void {
    if (this.dead) return;
    this.records.push(bytes);
    try {
      this.processRecords(now);
    } catch (e) {
      if (e instanceof TlsAlert) this.fail(e.alert, e.reason);
      else this.fail('internal_error', e instanceof Error ? e.message : String(e));
    }
  }

  write(data: Uint8Array): void {
    if (this.dead) throw new Error('TLS connection has failed');
    if (this.closedWrite) throw new Error('TLS connection is closed for writing (close_notify sent)');
    if (data.length === 0) return;
    if (!this.writeOpen) {
      this.appQueue.push(data.slice());
      return;
    }
    this.writeAppData(data);
  }

  close(): void {
    if (this.dead || this.closedWrite) return;
    this.flushAppQueue();
    this.closedWrite = true;
    // RFC 8446 §6.1: close_notify, under the current write keys.
    this.sendRecord(ContentType.alert, encodeAlert(AlertDescription.close_notify, AlertLevel.warning));
    this.traceOut('Alert', 'close_notify');
  }

  keyUpdate(requestPeer: boolean): void {
    if (this.dead || this.closedWrite) throw new Error('TLS connection is not open');
    if (!this._handshakeDone) throw new Error('KeyUpdate before the handshake completed');
    this.sendKeyUpdate(requestPeer);
  }

  pollOutput(): Uint8Array | undefined {
    if (this.out.length === 0) return undefined;
    if (this.out.length === 1) return this.out.pop();
    let n = 0;
    for (const b of this.out) n += b.length;
    const joined = new Uint8Array(n);
    let at = 0;
    for (const b of this.out) {
      joined.set(b, at);
      at += b.length;
    }
    this.out.length = 0;
    return joined;
  }

  pollEvent(): TlsEvent | undefined {
    if (this.eventHead >= this.events.length) {
      if (this.events.length > 0) {
        this.events.length = 0;
        this.eventHead = 0;
      }
      return undefined;
    }
    return this.events[this.eventHead++];
  }

  // ---- for the role state machines -------------------------------------------------------------

  /** Handle one complete handshake message in the current state. */
  protected abstract onHandshake(now: number, msg: HandshakeMessage, raw: Uint8Array): void;
  /** Called when the state machine becomes terminal ('failed'). */
  protected abstract enterFailed(): void;

  protected emit(ev: TlsEvent): void {
    this.events.push(ev);
  }

  protected traceIn(message: string, detail: string): void {
    this.emitTrace({ direction: 'in', message, detail });
  }
  protected traceOut(message: string, detail: string): void {
    this.emitTrace({ direction: 'out', message, detail });
  }
  private emitTrace(trace: HandshakeTrace): void {
    this.events.push({ type: 'trace', trace });
  }

  protected emitSecret(label: KeyLogLabel, secret: Uint8Array): void {
    this.events.push({ type: 'secret', label, clientRandom: this.clientRandom, secret });
  }

  /**
   * RFC 8446 §7.1: the handshake traffic secrets at the current transcript (…ServerHello),
   * announced for the key log before any record they protect exists.
   */
  protected deriveHandshakeSecrets(hs: HandshakeStage): { client: Uint8Array; server: Uint8Array } {
    const th = this.transcriptHash();
    const client = hs.clientTrafficSecret(th);
    const server = hs.serverTrafficSecret(th);
    this.emitSecret('CLIENT_HANDSHAKE_TRAFFIC_SECRET', client);
    this.emitSecret('SERVER_HANDSHAKE_TRAFFIC_SECRET', server);
    return { client, server };
  }

  /** RFC 8446 §7.1: the first application traffic secrets and the exporter secret, at …server Finished. */
  protected deriveApplicationSecrets(master: MasterStage): { client: Uint8Array; server: Uint8Array } {
    const th = this.transcriptHash();
    const client = master.clientTrafficSecret(th);
    const server = master.serverTrafficSecret(th);
    this.emitSecret('CLIENT_TRAFFIC_SECRET_0', client);
    this.emitSecret('SERVER_TRAFFIC_SECRET_0', server);
    this.emitSecret('EXPORTER_SECRET', master.exporterSecret(th));
    return { client, server };
  }

  /** Fix the suite (and so the transcript hash); replays transcript bytes seen before. */
  protected setSuite(suite: CipherSuite): void {
    this.suite = suite;
    this.hash = this.crypto.hash(suiteHash(suite));
    this.transcript = this.hash.running();
    for (const b of this.transcriptPending) this.transcript.update(b);
    this.transcriptPending = [];
  }

  protected addTranscript(raw: Uint8Array): void {
    if (this.transcript) this.transcript.update(raw);
    else this.transcriptPending.push(raw);
  }

  protected transcriptHash(): Uint8Array {
    if (!this.transcript) throw new Error('transcript hash before the suite is known');
    return this.transcript.peek();
  }

  /**
   * RFC 8446 §4.4.1: after a HelloRetryRequest the transcript restarts with
   * message_hash(Hash(ClientHello1)).
   */
  protected restartTranscriptWithMessageHash(): void {
    const h = this.transcriptHash();
    const mh = new Uint8Array(4 + h.length);
    mh[0] = HandshakeType.message_hash;
    mh[3] = h.length;
    mh.set(h, 4);
    this.transcript = this.hash!.running();
    this.transcript.update(mh);
  }

  protected requireHash(): HashAlgorithm {
    if (!this.hash) throw new Error('hash before the suite is known');
    return this.hash;
  }

  /** Queue a handshake message of the current flight (added to the transcript). Returns its bytes. */
  protected sendHandshake(msg: HandshakeMessage, raw?: Uint8Array): Uint8Array {
    const bytes = raw ?? serializeHandshake(msg);
    this.addTranscript(bytes);
    this.flight.push(bytes);
    const d = describeHandshake(msg);
    this.traceOut(d.message, d.detail);
    return bytes;
  }

  /** Emit the queued flight as records under the current write keys. */
  protected flushFlight(): void {
    if (this.flight.length === 0) return;
    let n = 0;
    for (const b of this.flight) n += b.length;
    const all = new Uint8Array(n);
    let at = 0;
    for (const b of this.flight) {
      all.set(b, at);
      at += b.length;
    }
    this.flight = [];
    this.sendRecord(ContentType.handshake, all);
  }

  /** The initial ClientHello may carry legacy_record_version 0x0301 (RFC 8446 §5.1). */
  protected flushFlightAsInitialClientHello(): void {
    const before = this.out.length;
    this.flushFlight();
    for (let i = before; i < this.out.length; i++) this.out[i]![2] = 0x01;
  }

  protected sendChangeCipherSpec(): void {
    if (this.ccsSent) return;
    this.ccsSent = true;
    this.out.push(CCS_RECORD.slice());
  }

  /** Switch write keys (flushes the pending flight under the old keys first). */
  protected setWriteSecret(secret: Uint8Array): void {
    this.flushFlight();
    this.writeSecret = secret;
    this.writeProt = new RecordProtection(this.crypto, this.suite!, this.requireHash(), secret);
    this.writeProt.maxPlaintext = this.maxWriteFragment;
  }

  /** Switch read keys; RFC 8446 §5.1: handshake messages MUST NOT span key changes. */
  protected setReadSecret(secret: Uint8Array): void {
    if (this.hsIn.pending() !== 0) abort('unexpected_message', 'a handshake message spans a key change');
    this.readSecret = secret;
    this.readProt = new RecordProtection(this.crypto, this.suite!, this.requireHash(), secret);
  }

  protected setMaxWriteFragment(n: number): void {
    this.maxWriteFragment = Math.min(MAX_PLAINTEXT, n);
    if (this.writeProt) this.writeProt.maxPlaintext = this.maxWriteFragment;
  }

  /** The handshake is complete in both directions: release queued application data. */
  protected completeHandshake(): void {
    this._handshakeDone = true;
    this.readOpen = true;
    this.writeOpen = true;
    this.ccsAllowed = false;
    this.flushFlight();
    this.flushAppQueue();
  }

  protected get readKeysInstalled(): boolean {
    return this.readProt !== undefined;
  }

  // ---- internals -----------------------------------------------------------------------------

  private flushAppQueue(): void {
    if (!this.writeOpen) return;
    while (this.appQueue.length > 0) this.writeAppData(this.appQueue.shift()!);
  }

  private writeAppData(data: Uint8Array): void {
    this.sendRecord(ContentType.application_data, data);
  }

  private sendRecord(type: ContentType, content: Uint8Array): void {
    if (this.writeProt) {
      const max = this.maxWriteFragment;
      for (const part of fragment(content, max)) {
        const pad = this.padTo > 0 ? (this.padTo - ((part.length + 1) % this.padTo)) % this.padTo : 0;
        this.out.push(this.writeProt.seal(type, part, Math.min(pad, max - part.length)));
      }
    } else {
      for (const part of fragment(content, MAX_PLAINTEXT)) this.out.push(plaintextRecord(type, part));
    }
  }

  private processRecords(now: number): void {
    for (;;) {
      if (this.dead) return;
      const frame = this.records.next();
      if (frame === undefined) return;
      if ('alert' in frame) abort(frame.alert as AlertName, frame.reason);

      // RFC 8446 §5: a ChangeCipherSpec of the single byte 0x01 between the first ClientHello and
      // the peer's Finished is dropped; any other is an unexpected_message.
      if (frame.contentType === ContentType.change_cipher_spec) {
        if (!this.ccsAllowed) abort('unexpected_message', 'ChangeCipherSpec outside the handshake');
        if (frame.fragment.length !== 1 || frame.fragment[0] !== 1) abort('unexpected_message', 'malformed ChangeCipherSpec');
        continue;
      }

      let type: number;
      let content: Uint8Array;
      if (this.readProt) {
        if (frame.contentType === ContentType.alert && !this._handshakeDone) {
          // Deliberate leniency: a peer that failed before deriving its keys (e.g. on our ServerHello)
          // can only send a plaintext alert; report its reason rather than an unexpected_message.
          this.handleAlert(frame.fragment);
          continue;
        }
        if (frame.contentType !== ContentType.application_data) {
          // RFC 8446 §5.2: after keys are installed every record is protected (opaque_type 23).
          abort('unexpected_message', `unprotected ${frame.contentType === 21 ? 'alert' : 'record'} after keys were installed`);
        }
        if (this.earlySkipBudget > 0 && this.earlySkipTrial) {
          // RFC 8446 §4.2.10: skip declined 0-RTT data by trial decryption with the handshake key.
          const tried = this.readProt.open(frame);
          if ('alert' in tried) {
            this.earlySkipBudget -= frame.fragment.length;
            if (this.earlySkipBudget < 0) abort('bad_record_mac', 'too much undecryptable early data');
            continue;
          }
          this.earlySkipBudget = 0;
          type = tried.contentType;
          content = tried.content;
        } else {
          const opened = this.readProt.open(frame);
          if ('alert' in opened) abort(opened.alert as AlertName, opened.reason);
          type = opened.contentType;
          content = opened.content;
        }
      } else {
        type = frame.contentType;
        content = frame.fragment;
        if (type === ContentType.application_data) {
          if (this.skipPlainAppData) {
            // RFC 8446 §4.2.10: after a HelloRetryRequest, 0-RTT records are skipped unread.
            this.earlySkipBudget -= content.length;
            if (this.earlySkipBudget < 0) abort('unexpected_message', 'too much early data after HelloRetryRequest');
            continue;
          }
          abort('unexpected_message', 'application data before the handshake');
        }
      }

      switch (type) {
        case ContentType.handshake:
          if (content.length === 0) abort('unexpected_message', 'empty handshake record');
          this.hsIn.push(content);
          this.processHandshake(now);
          break;
        case ContentType.alert:
          this.handleAlert(content);
          break;
        case ContentType.application_data:
          if (!this.readOpen) abort('unexpected_message', 'application data before the handshake completed');
          if (this.hsIn.pending() !== 0) abort('unexpected_message', 'application data inside a handshake message');
          if (this.peerClosed) break; // RFC 8446 §6.1: data after close_notify is ignored
          if (content.length > 0) this.emit({ type: 'data', data: content });
          break;
        default:
          abort('unexpected_message', `unexpected content type ${type}`);
      }
    }
  }

  private processHandshake(now: number): void {
    for (;;) {
      if (this.dead) return;
      const next = this.hsIn.next();
      if (next === undefined) return;
      if ('error' in next) abort(next.error.alert, next.error.reason);
      const parsed = parseHandshakeBody(next.msgType, next.body, { hashLen: this.hash?.outputLen });
      if (!parsed.ok) abort(parsed.error.alert, parsed.error.reason);
      const msg = parsed.value;
      const d = describeHandshake(msg);
      this.traceIn(d.message, d.detail);
      if (this._handshakeDone) this.onPostHandshake(now, msg);
      else this.onHandshake(now, msg, next.raw);
    }
  }

  /** Messages after the handshake: KeyUpdate both roles; NewSessionTicket is the client's (overridden). */
  protected onPostHandshake(now: number, msg: HandshakeMessage): void {
    if (msg.type === 'key_update') {
      // RFC 8446 §4.6.3: the next read key; answer update_requested with our own KeyUpdate.
      if (this.hsIn.pending() !== 0) abort('unexpected_message', 'KeyUpdate not at a record boundary');
      const next = nextTrafficSecret(this.requireHash(), this.readSecret!);
      this.setReadSecret(next);
      this.emit({ type: 'key-update', direction: 'received', requested: msg.updateRequested });
      if (msg.updateRequested && !this.closedWrite) this.sendKeyUpdate(false);
      return;
    }
    this.onPostHandshakeMessage(now, msg);
  }

  protected onPostHandshakeMessage(_now: number, msg: HandshakeMessage): void {
    abort('unexpected_message', `${msg.type} after the handshake`);
  }

  private sendKeyUpdate(requestPeer: boolean): void {
    this.flushAppQueue();
    this.sendHandshakePostHandshake({ type: 'key_update', updateRequested: requestPeer });
    // RFC 8446 §4.6.3: the sender switches to the next generation right after sending KeyUpdate.
    const next = nextTrafficSecret(this.requireHash(), this.writeSecret!);
    this.writeSecret = next;
    this.writeProt = new RecordProtection(this.crypto, this.suite!, this.requireHash(), next);
    this.writeProt.maxPlaintext = this.maxWriteFragment;
    this.emit({ type: 'key-update', direction: 'sent', requested: requestPeer });
  }

  /** Post-handshake messages are not part of the transcript. */
  protected sendHandshakePostHandshake(msg: HandshakeMessage): void {
    const bytes = serializeHandshake(msg);
    const d = describeHandshake(msg);
    this.traceOut(d.message, d.detail);
    this.sendRecord(ContentType.handshake, bytes);
  }

  private handleAlert(body: Uint8Array): void {
    const alert = parseAlert(body);
    if (!alert) abort('decode_error', 'malformed alert');
    this.traceIn('Alert', `${alert.level === 1 ? 'warning' : 'fatal'} ${alert.name}`);
    if (alert.description === AlertDescription.close_notify) {
      // RFC 8446 §6.1: no more data will arrive; we may still write.
      if (!this.peerClosed) {
        this.peerClosed = true;
        this.emit({ type: 'peer-closed' });
      }
      return;
    }
    if (alert.description === AlertDescription.user_canceled) return; // RFC 8446 §6.1: followed by close_notify
    // RFC 8446 §6.2: every other alert is fatal whatever its level.
    this.dead = true;
    this.enterFailed();
    this.emit({ type: 'failed', alert: alert.description as AlertDescription, sent: false, reason: `peer sent alert ${alert.name}` });
  }

  /** Send a fatal alert and stop: nothing more is read or written. */
  protected fail(alert: AlertName, reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.flight = [];
    const code = alertCode(alert);
    try {
      this.sendRecord(ContentType.alert, encodeAlert(code, AlertLevel.fatal));
    } catch {
      // A failure to seal (e.g. sequence exhausted) leaves the alert unsent; the peer sees the TCP close.
    }
    this.traceOut('Alert', `fatal ${alertName(code)} (${reason})`);
    this.enterFailed();
    this.emit({ type: 'failed', alert: code, sent: true, reason });
  }
}
