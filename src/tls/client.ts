// The TLS 1.3 client state machine (RFC 8446 §2, §4): ClientHello → ServerHello (or a
// HelloRetryRequest and a second ClientHello) → EncryptedExtensions → [CertificateRequest]
// → Certificate → CertificateVerify → Finished → our Finished; then NewSessionTicket and KeyUpdate.

import {
  CipherSuite,
  HELLO_RETRY_REQUEST_RANDOM,
  LEGACY_VERSION,
  NamedGroup,
  PskKeyExchangeMode,
  SignatureScheme,
  TLS13,
  nameOf,
} from './constants.js';
import { abort } from './alerts.js';
import { TlsConnectionBase } from './connection.js';
import type { ClientConfig, HandshakeSummary, ResumptionTicket } from './engine-api.js';
import type { KeyShare, PublicKey, RunningHash } from './crypto/provider.js';
import { suiteHash } from './crypto/provider.js';
import { binderValue, earlyStage, equalBytes, finishedVerifyData, resumptionPsk, type HandshakeStage } from './keyschedule.js';
import { findExtension } from './extensions.js';
import { serializeClientHelloWithBinders } from './messages/index.js';
import type { ClientHello, Extension, HandshakeMessage, ServerHello } from './messages/types.js';
import { parseCertificate } from './x509/certificate.js';
import { schemeFitsKeyForCertificateVerify } from './crypto/signatures.js';
import {
  CLIENT_SIGNATURE_SCHEMES,
  DEFAULT_GROUPS,
  DEFAULT_SUITES,
  certificateVerifyContent,
  isCertificateVerifyScheme,
} from './handshake-common.js';

/** Facts fixed by the ServerHello, carried through the encrypted part of the handshake. */
interface Negotiated {
  suite: CipherSuite;
  group: NamedGroup;
  hs: HandshakeStage;
  clientHs: Uint8Array;
  serverHs: Uint8Array;
  resumed: boolean;
  helloRetry: boolean;
}

type ClientState =
  | { name: 'start' }
  | { name: 'expectServerHello'; shares: KeyShare[]; ch: ClientHello; retried: boolean }
  | { name: 'expectEncryptedExtensions'; n: Negotiated }
  | { name: 'expectCertificateOrRequest'; n: Negotiated; alpn: string | undefined; sniAcked: boolean }
  | { name: 'expectCertificate'; n: Negotiated; alpn: string | undefined; certRequestContext: Uint8Array }
  | {
      name: 'expectCertificateVerify';
      n: Negotiated;
      alpn: string | undefined;
      certRequestContext: Uint8Array | undefined;
      leafKey: PublicKey;
    }
  | {
      name: 'expectFinished';
      n: Negotiated;
      alpn: string | undefined;
      certRequestContext: Uint8Array | undefined;
      scheme: SignatureScheme | undefined;
    }
  | { name: 'connected'; suite: CipherSuite; resumption: Uint8Array; alpn: string | undefined }
  | { name: 'failed' };

const IPV4_LITERAL = /^\d{1,3}(\.\d{1,3}){3}$/;

export class TlsClientConnection extends TlsConnectionBase {
  readonly role = 'client' as const;
  private st: ClientState = { name: 'start' };
  private readonly suites: CipherSuite[];
  private readonly groups: NamedGroup[];
  private readonly serverName: string | undefined;
  private readonly offeredSessionId: Uint8Array;
  private offeredPsk: ResumptionTicket | undefined;

  constructor(private readonly config: ClientConfig) {
    super(config);
    this.suites = config.cipherSuites ?? [...DEFAULT_SUITES];
    this.groups = config.groups ?? [...DEFAULT_GROUPS];
    // RFC 6066 §3: literal IP addresses are not permitted in server_name.
    const sn = config.serverName;
    this.serverName = sn !== undefined && sn !== '' && !IPV4_LITERAL.test(sn) && !sn.includes(':') ? sn : undefined;
    // RFC 8446 §D.4: middlebox compatibility mode sends a non-empty legacy_session_id.
    this.offeredSessionId = config.middleboxCompat === false ? new Uint8Array(0) : config.crypto.randomBytes(32);
  }

  get state(): string {
    return this.st.name;
  }

  protected enterFailed(): void {
    this.st = { name: 'failed' };
  }

  override start(now: number): void {
    if (this.st.name !== 'start') return;
    this.clientRandom = this.crypto.randomBytes(32);
    this.ccsAllowed = true;
    const share = this.crypto.keyShare(this.groups[0]!);
    if (!share) throw new Error(`group ${nameOf(NamedGroup, this.groups[0]!)} is not supported by the crypto provider`);
    const resume = this.usableTicket(now);
    const ch = this.buildClientHello([share], undefined, resume);
    this.sendClientHello(now, ch, resume, undefined);
    this.flushFlightAsInitialClientHello();
    this.st = { name: 'expectServerHello', shares: [share], ch, retried: false };
  }

  private usableTicket(now: number): ResumptionTicket | undefined {
    const t = this.config.resume;
    if (!t) return undefined;
    if (now - t.receivedAt > t.lifetime * 1000) return undefined;
    if (!this.suites.some((s) => suiteHash(s) === suiteHash(t.suite))) return undefined;
    return t;
  }

  private buildClientHello(shares: KeyShare[], cookie: Uint8Array | undefined, resume: ResumptionTicket | undefined): ClientHello {
    const exts: Extension[] = [];
    if (this.serverName !== undefined) exts.push({ type: 'server_name', hostName: this.serverName });
    exts.push({ type: 'supported_groups', groups: [...this.groups] });
    exts.push({ type: 'signature_algorithms', schemes: [...CLIENT_SIGNATURE_SCHEMES] });
    if (this.config.alpn && this.config.alpn.length > 0) exts.push({ type: 'alpn', protocols: [...this.config.alpn] });
    exts.push({ type: 'supported_versions_client', versions: [TLS13] });
    if (cookie) exts.push({ type: 'cookie', cookie });
    exts.push({ type: 'key_share_client', shares: shares.map((s) => ({ group: s.group, keyExchange: s.publicKey })) });
    exts.push({ type: 'psk_key_exchange_modes', modes: [PskKeyExchangeMode.psk_dhe_ke] });
    if (this.config.recordSizeLimit !== undefined) exts.push({ type: 'record_size_limit', limit: this.config.recordSizeLimit });
    if (resume) {
      // RFC 8446 §4.2.11: pre_shared_key is the last extension; the binder is patched in later.
      exts.push({
        type: 'pre_shared_key_client',
        identities: [{ identity: resume.ticket, obfuscatedTicketAge: 0 }],
        binders: [new Uint8Array(this.crypto.hash(suiteHash(resume.suite)).outputLen)],
      });
    }
    return {
      type: 'client_hello',
      legacyVersion: LEGACY_VERSION,
      random: this.clientRandom,
      legacySessionId: this.offeredSessionId,
      cipherSuites: [...this.suites],
      legacyCompressionMethods: new Uint8Array([0]),
      extensions: exts,
    };
  }

  /** Serialize (computing the PSK binder over the truncated hello when resuming) and send. */
  private sendClientHello(now: number, ch: ClientHello, resume: ResumptionTicket | undefined, prefixHash: (() => RunningHash) | undefined): void {
    this.offeredPsk = resume;
    if (!resume) {
      this.sendHandshake(ch);
      return;
    }
    const psk = ch.extensions[ch.extensions.length - 1];
    if (psk?.type === 'pre_shared_key_client') {
      // RFC 8446 §4.2.11.1: obfuscated_ticket_age = age in ms + ticket_age_add, mod 2^32.
      psk.identities[0]!.obfuscatedTicketAge = (Math.max(0, Math.floor(now - resume.receivedAt)) + resume.ageAdd) >>> 0;
    }
    const hash = this.crypto.hash(suiteHash(resume.suite));
    const binderKey = earlyStage(hash, resume.psk).binderKey(true);
    const raw = serializeClientHelloWithBinders(ch, (truncated) => {
      // RFC 8446 §4.2.11.2: the binder's transcript is everything before, plus the truncated hello.
      const h = prefixHash ? prefixHash() : hash.running();
      h.update(truncated);
      return [binderValue(hash, binderKey, h.peek())];
    });
    this.sendHandshake(ch, raw);
  }

  protected onHandshake(now: number, msg: HandshakeMessage, raw: Uint8Array): void {
    const st = this.st;
    switch (st.name) {
      case 'expectServerHello':
        if (msg.type !== 'server_hello') abort('unexpected_message', `expected ServerHello, got ${msg.type}`);
        if (msg.isHelloRetryRequest) this.onHelloRetryRequest(now, st, msg, raw);
        else this.onServerHello(st, msg, raw);
        return;
      case 'expectEncryptedExtensions': {
        if (msg.type !== 'encrypted_extensions') abort('unexpected_message', `expected EncryptedExtensions, got ${msg.type}`);
        this.addTranscript(raw);
        const alpnExt = findExtension(msg.extensions, 'alpn');
        let alpn: string | undefined;
        if (alpnExt) {
          // RFC 7301 §3.1: exactly one protocol, one we offered.
          if (alpnExt.protocols.length !== 1 || !(this.config.alpn ?? []).includes(alpnExt.protocols[0]!)) {
            abort('illegal_parameter', 'server chose an ALPN protocol we did not offer');
          }
          alpn = alpnExt.protocols[0];
        }
        for (const e of msg.extensions) {
          // RFC 8446 §4.2: an extension we did not offer is an unsupported_extension.
          if (e.type === 'early_data') abort('unsupported_extension', 'early_data accepted but none was offered');
          if (e.type === 'server_name' && this.serverName === undefined) abort('unsupported_extension', 'server_name acknowledged but not sent');
          if (e.type === 'record_size_limit') {
            if (this.config.recordSizeLimit === undefined) abort('unsupported_extension', 'record_size_limit not offered');
            this.setMaxWriteFragment(e.limit - 1);
          }
          if (e.type === 'key_share_server' || e.type === 'supported_versions_server' || e.type === 'pre_shared_key_server' || e.type === 'cookie') {
            abort('illegal_parameter', `${e.type} is not allowed in EncryptedExtensions`);
          }
        }
        if (st.n.resumed) this.st = { name: 'expectFinished', n: st.n, alpn, certRequestContext: undefined, scheme: undefined };
        else this.st = { name: 'expectCertificateOrRequest', n: st.n, alpn, sniAcked: findExtension(msg.extensions, 'server_name') !== undefined };
        return;
      }
      case 'expectCertificateOrRequest':
        if (msg.type === 'certificate_request') {
          // We have no client certificate: answer later with an empty Certificate (RFC 8446 §4.4.2).
          this.addTranscript(raw);
          this.st = { name: 'expectCertificate', n: st.n, alpn: st.alpn, certRequestContext: msg.requestContext };
          return;
        }
        this.onCertificate(now, st.n, st.alpn, undefined, msg, raw);
        return;
      case 'expectCertificate':
        this.onCertificate(now, st.n, st.alpn, st.certRequestContext, msg, raw);
        return;
      case 'expectCertificateVerify': {
        if (msg.type !== 'certificate_verify') abort('unexpected_message', `expected CertificateVerify, got ${msg.type}`);
        // RFC 8446 §4.4.3: a scheme we offered, valid for CertificateVerify, with a signature that verifies.
        if (!CLIENT_SIGNATURE_SCHEMES.includes(msg.scheme as SignatureScheme) || !isCertificateVerifyScheme(msg.scheme)) {
          abort('illegal_parameter', `server signed with ${nameOf(SignatureScheme, msg.scheme)}, which we did not offer`);
        }
        // RFC 8446 §4.2.3: in CertificateVerify an ECDSA scheme names the curve too; it must fit the key.
        if (!schemeFitsKeyForCertificateVerify(msg.scheme as SignatureScheme, st.leafKey)) {
          abort('illegal_parameter', `${nameOf(SignatureScheme, msg.scheme)} does not fit the certificate's key`);
        }
        const content = certificateVerifyContent('server', this.transcriptHash());
        if (!this.crypto.verify(msg.scheme as SignatureScheme, st.leafKey, content, msg.signature)) {
          abort('decrypt_error', 'CertificateVerify signature does not verify');
        }
        this.addTranscript(raw);
        this.st = { name: 'expectFinished', n: st.n, alpn: st.alpn, certRequestContext: st.certRequestContext, scheme: msg.scheme as SignatureScheme };
        return;
      }
      case 'expectFinished': {
        if (msg.type !== 'finished') abort('unexpected_message', `expected Finished, got ${msg.type}`);
        this.onServerFinished(st, msg.verifyData, raw);
        return;
      }
      default:
        abort('unexpected_message', `${msg.type} in state ${st.name}`);
    }
  }

  private onHelloRetryRequest(now: number, st: Extract<ClientState, { name: 'expectServerHello' }>, hrr: ServerHello, raw: Uint8Array): void {
    // RFC 8446 §4.1.4: at most one HelloRetryRequest, and it must change something.
    if (st.retried) abort('unexpected_message', 'a second HelloRetryRequest');
    this.checkServerHelloCommon(hrr);
    const group = findExtension(hrr.extensions, 'key_share_hrr')?.group;
    const cookie = findExtension(hrr.extensions, 'cookie')?.cookie;
    if (group === undefined && cookie === undefined) abort('illegal_parameter', 'HelloRetryRequest would not change the ClientHello');
    let shares = st.shares;
    if (group !== undefined) {
      if (!this.groups.includes(group as NamedGroup)) abort('illegal_parameter', `HelloRetryRequest asks for ${nameOf(NamedGroup, group)}, which we did not offer`);
      if (st.shares.some((s) => s.group === group)) abort('illegal_parameter', 'HelloRetryRequest asks for a group we already sent a share for');
      const share = this.crypto.keyShare(group as NamedGroup);
      if (!share) abort('internal_error', `group ${nameOf(NamedGroup, group)} unavailable`);
      shares = [share];
    }
    const suite = hrr.cipherSuite as CipherSuite;
    this.setSuite(suite); // replays ClientHello1 into the transcript
    this.restartTranscriptWithMessageHash();
    this.addTranscript(raw);
    // RFC 8446 §D.4: the compatibility CCS goes before the second ClientHello.
    if (this.offeredSessionId.length > 0) this.sendChangeCipherSpec();
    // A PSK survives the retry only if its hash fits the suite the server picked.
    const resume = this.offeredPsk && suiteHash(this.offeredPsk.suite) === suiteHash(suite) ? this.offeredPsk : undefined;
    const ch2 = this.buildClientHello(shares, cookie, resume);
    const base = this.transcript!.clone();
    this.sendClientHello(now, ch2, resume, () => base.clone());
    this.flushFlight();
    this.st = { name: 'expectServerHello', shares, ch: ch2, retried: true };
  }

  /** Checks shared by ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4). */
  private checkServerHelloCommon(sh: ServerHello): void {
    if (sh.legacyVersion !== LEGACY_VERSION) abort('protocol_version', 'ServerHello legacy_version is not 0x0303');
    const v = findExtension(sh.extensions, 'supported_versions_server');
    if (!v) abort('protocol_version', 'server does not speak TLS 1.3 (no supported_versions)');
    if (v.version !== TLS13) abort('illegal_parameter', `server selected version 0x${v.version.toString(16)}`);
    if (!equalBytes(sh.legacySessionIdEcho, this.offeredSessionId)) abort('illegal_parameter', 'legacy_session_id_echo does not match');
    if (!this.suites.includes(sh.cipherSuite as CipherSuite)) abort('illegal_parameter', `server chose suite ${nameOf(CipherSuite, sh.cipherSuite)}, which we did not offer`);
    if (sh.legacyCompressionMethod !== 0) abort('illegal_parameter', 'compression method is not null');
  }

  private onServerHello(st: Extract<ClientState, { name: 'expectServerHello' }>, sh: ServerHello, raw: Uint8Array): void {
    this.checkServerHelloCommon(sh);
    if (equalBytes(sh.random, HELLO_RETRY_REQUEST_RANDOM)) abort('illegal_parameter', 'HelloRetryRequest random in a ServerHello');
    const suite = sh.cipherSuite as CipherSuite;
    if (st.retried && suite !== this.suite) abort('illegal_parameter', 'ServerHello suite differs from the HelloRetryRequest');
    for (const e of sh.extensions) {
      if (e.type !== 'supported_versions_server' && e.type !== 'key_share_server' && e.type !== 'pre_shared_key_server') {
        abort('unsupported_extension', `${e.type === 'raw' ? `extension ${e.code}` : e.type} is not allowed in ServerHello`);
      }
    }
    const ks = findExtension(sh.extensions, 'key_share_server');
    if (!ks) abort('missing_extension', 'ServerHello has no key_share (psk_ke was not offered)');
    const mine = st.shares.find((s) => s.group === ks.share.group);
    if (!mine) abort('illegal_parameter', 'ServerHello key_share is for a group we sent no share for');
    const ecdhe = mine.agree(ks.share.keyExchange);
    if (!ecdhe) abort('illegal_parameter', `invalid ${nameOf(NamedGroup, ks.share.group)} key share from the server`);

    let psk: Uint8Array | undefined;
    const pskExt = findExtension(sh.extensions, 'pre_shared_key_server');
    if (pskExt) {
      // RFC 8446 §4.2.11: the selected identity must be one we offered, for a suite with the same hash.
      if (!this.offeredPsk || pskExt.selectedIdentity !== 0) abort('illegal_parameter', 'server selected a PSK we did not offer');
      if (suiteHash(this.offeredPsk.suite) !== suiteHash(suite)) abort('illegal_parameter', 'PSK hash does not match the suite');
      psk = this.offeredPsk.psk;
    }

    if (!st.retried) this.setSuite(suite);
    this.addTranscript(raw);
    const hash = this.requireHash();
    const hs = earlyStage(hash, psk).handshakeStage(ecdhe);
    const { client: clientHs, server: serverHs } = this.deriveHandshakeSecrets(hs);
    this.setReadSecret(serverHs);
    // Our alerts from here on are protected with the client handshake key, as the server expects.
    this.setWriteSecret(clientHs);
    this.st = {
      name: 'expectEncryptedExtensions',
      n: { suite, group: ks.share.group as NamedGroup, hs, clientHs, serverHs, resumed: psk !== undefined, helloRetry: st.retried },
    };
  }

  private onCertificate(
    now: number,
    n: Negotiated,
    alpn: string | undefined,
    certRequestContext: Uint8Array | undefined,
    msg: HandshakeMessage,
    raw: Uint8Array,
  ): void {
    if (msg.type !== 'certificate') abort('unexpected_message', `expected Certificate, got ${msg.type}`);
    // RFC 8446 §4.4.2: the server's request context is empty; an empty chain is a decode_error.
    if (msg.requestContext.length !== 0) abort('illegal_parameter', 'server Certificate has a request context');
    if (msg.entries.length === 0) abort('decode_error', 'server sent an empty Certificate');
    const chain = msg.entries.map((e) => e.data);
    const leaf = parseCertificate(chain[0]!);
    if (!leaf.ok) abort('bad_certificate', `server certificate does not parse: ${leaf.error}`);
    const verify = this.config.verify;
    if (verify) {
      const outcome = verify(chain, now, this.config.verifyName ?? this.config.serverName);
      if (!outcome.ok) abort(outcome.alert, outcome.reason);
    }
    this.addTranscript(raw);
    this.st = { name: 'expectCertificateVerify', n, alpn, certRequestContext, leafKey: leaf.value.publicKey };
  }

  private onServerFinished(st: Extract<ClientState, { name: 'expectFinished' }>, verifyData: Uint8Array, raw: Uint8Array): void {
    const hash = this.requireHash();
    // RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(… CertificateVerify)).
    const expected = finishedVerifyData(hash, st.n.serverHs, this.transcriptHash());
    if (!equalBytes(verifyData, expected)) abort('decrypt_error', 'server Finished does not verify');
    this.addTranscript(raw);
    const master = st.n.hs.masterStage();
    const { client: clientApp, server: serverApp } = this.deriveApplicationSecrets(master);
    this.setReadSecret(serverApp);

    // Our second flight: [CCS], [empty Certificate], Finished — under the client handshake key.
    if (this.offeredSessionId.length > 0) this.sendChangeCipherSpec();
    if (st.certRequestContext !== undefined) {
      this.sendHandshake({ type: 'certificate', requestContext: st.certRequestContext, entries: [] });
    }
    this.sendHandshake({ type: 'finished', verifyData: finishedVerifyData(hash, st.n.clientHs, this.transcriptHash()) });
    const resumption = master.resumptionSecret(this.transcriptHash());
    this.setWriteSecret(clientApp);
    this.st = { name: 'connected', suite: st.n.suite, resumption, alpn: st.alpn };
    this.completeHandshake();
    const summary: HandshakeSummary = {
      suite: st.n.suite,
      group: st.n.group,
      signatureScheme: st.scheme,
      alpn: st.alpn,
      serverName: this.serverName,
      resumed: st.n.resumed,
      helloRetry: st.n.helloRetry,
    };
    this.traceIn(
      'Negotiated',
      `${nameOf(CipherSuite, summary.suite)} ${nameOf(NamedGroup, st.n.group)}${summary.resumed ? ' resumed (PSK)' : ''}${summary.alpn ? ` alpn=${summary.alpn}` : ''}${summary.helloRetry ? ' after HelloRetryRequest' : ''}`,
    );
    this.emit({ type: 'handshake', summary });
  }

  protected override onPostHandshakeMessage(now: number, msg: HandshakeMessage): void {
    if (msg.type !== 'new_session_ticket') abort('unexpected_message', `${msg.type} after the handshake`);
    const st = this.st;
    if (st.name !== 'connected') return;
    // RFC 8446 §4.6.1: lifetime at most 7 days; the PSK comes from the resumption secret and the nonce.
    if (msg.lifetime > 604800) abort('illegal_parameter', 'ticket lifetime over 7 days');
    if (msg.lifetime === 0) return;
    const early = findExtension(msg.extensions, 'early_data');
    this.emit({
      type: 'ticket',
      ticket: {
        serverName: this.serverName,
        suite: st.suite,
        ticket: msg.ticket.slice(),
        psk: resumptionPsk(this.requireHash(), st.resumption, msg.nonce),
        ageAdd: msg.ageAdd,
        receivedAt: now,
        lifetime: msg.lifetime,
        maxEarlyData: early?.maxEarlyDataSize ?? 0,
        alpn: st.alpn,
      },
    });
  }
}

export function createClientConnection(config: ClientConfig): TlsClientConnection {
  return new TlsClientConnection(config);
}
