// The TLS 1.3 server state machine (RFC 8446 §2, §4): ClientHello → (HelloRetryRequest →
// ClientHello) → ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished →
// client Finished → NewSessionTickets. States are a discriminated union of `expect*` states.

import {
  CipherSuite,
  HELLO_RETRY_REQUEST_RANDOM,
  LEGACY_VERSION,
  MAX_PLAINTEXT,
  NamedGroup,
  PskKeyExchangeMode,
  SignatureScheme,
  TLS13,
  nameOf,
} from './constants.js';
import { abort } from './alerts.js';
import { TlsConnectionBase } from './connection.js';
import type { CertifiedKey, HandshakeSummary, ServerConfig } from './engine-api.js';
import type { KeyShare, RunningHash } from './crypto/provider.js';
import { suiteHash } from './crypto/provider.js';
import {
  binderValue,
  earlyStage,
  equalBytes,
  finishedVerifyData,
  resumptionPsk,
  type HandshakeStage,
  type MasterStage,
} from './keyschedule.js';
import { findExtension } from './extensions.js';
import type { ClientHello, Extension, HandshakeMessage } from './messages/types.js';
import { openCookie, openTicket, sealCookie, sealTicket } from './tickets.js';
import { DEFAULT_GROUPS, DEFAULT_SUITES, certificateVerifyContent } from './handshake-common.js';

/** RFC 8446 §4.6.1: servers MUST NOT use any value greater than 604800 seconds (7 days). */
const MAX_TICKET_LIFETIME = 604800;
/** How much declined 0-RTT data we skip before giving up (RFC 8446 §4.2.10: "up to the configured max_early_data_size"). */
const EARLY_SKIP_LIMIT = 1 << 16;

type ServerState =
  | { name: 'expectClientHello' }
  | { name: 'expectClientHelloAfterRetry'; suite: CipherSuite; group: NamedGroup; ch1Random: Uint8Array }
  | {
      name: 'expectFinished';
      hs: HandshakeStage;
      master: MasterStage;
      clientHsSecret: Uint8Array;
      clientAppSecret: Uint8Array;
      expectedVerify: Uint8Array;
      summary: HandshakeSummary;
    }
  | { name: 'connected' }
  | { name: 'failed' };

export class TlsServerConnection extends TlsConnectionBase {
  readonly role = 'server' as const;
  private st: ServerState = { name: 'expectClientHello' };
  private readonly suites: CipherSuite[];
  private readonly groups: NamedGroup[];

  constructor(private readonly config: ServerConfig) {
    super(config);
    if (config.certificates.length === 0) throw new Error('a TLS server needs at least one certificate');
    this.suites = config.cipherSuites ?? [...DEFAULT_SUITES];
    this.groups = config.groups ?? [...DEFAULT_GROUPS];
  }

  get state(): string {
    return this.st.name;
  }

  protected enterFailed(): void {
    this.st = { name: 'failed' };
  }

  protected onHandshake(now: number, msg: HandshakeMessage, raw: Uint8Array): void {
    const st = this.st;
    switch (st.name) {
      case 'expectClientHello':
      case 'expectClientHelloAfterRetry':
        if (msg.type !== 'client_hello') abort('unexpected_message', `expected ClientHello, got ${msg.type}`);
        this.onClientHello(now, msg, raw);
        return;
      case 'expectFinished':
        if (msg.type !== 'finished') abort('unexpected_message', `expected Finished, got ${msg.type}`);
        this.onClientFinished(now, st, msg.verifyData, raw);
        return;
      default:
        abort('unexpected_message', `${msg.type} in state ${st.name}`);
    }
  }

  private onClientHello(now: number, ch: ClientHello, raw: Uint8Array): void {
    const retry = this.st.name === 'expectClientHelloAfterRetry' ? this.st : undefined;
    this.ccsAllowed = true;
    // Copies: parsed messages are views of the reassembly buffer, which later records overwrite.
    this.clientRandom = ch.random.slice();
    const exts = ch.extensions;

    // RFC 8446 §4.2.1: a TLS 1.3 ClientHello carries supported_versions including 0x0304.
    const versions = findExtension(exts, 'supported_versions_client');
    if (!versions || !versions.versions.includes(TLS13)) abort('protocol_version', 'client does not offer TLS 1.3');
    if (ch.legacyVersion !== LEGACY_VERSION) abort('protocol_version', 'legacy_version is not 0x0303');

    // Cipher suite: ours in our preference order (RFC 8446 §4.1.1).
    const suite = retry ? retry.suite : this.suites.find((s) => ch.cipherSuites.includes(s));
    if (suite === undefined) abort('handshake_failure', 'no cipher suite in common');
    if (retry && !ch.cipherSuites.includes(suite)) abort('illegal_parameter', 'second ClientHello dropped the chosen suite');

    const groupsExt = findExtension(exts, 'supported_groups');
    const sharesExt = findExtension(exts, 'key_share_client');
    const psk = findExtension(exts, 'pre_shared_key_client');
    const pskModes = findExtension(exts, 'psk_key_exchange_modes');
    const sigAlgs = findExtension(exts, 'signature_algorithms');
    const sni = findExtension(exts, 'server_name');
    const alpnExt = findExtension(exts, 'alpn');
    const rsl = findExtension(exts, 'record_size_limit');
    const early = findExtension(exts, 'early_data');
    const cookie = findExtension(exts, 'cookie');

    // RFC 8446 §9.2: supported_groups and key_share come together; no PSK means signature_algorithms too.
    if (!groupsExt || !sharesExt) abort('missing_extension', 'ClientHello lacks supported_groups/key_share (psk_ke is not supported)');
    if (psk && !pskModes) abort('missing_extension', 'pre_shared_key without psk_key_exchange_modes');
    if (!psk && !sigAlgs) abort('missing_extension', 'ClientHello lacks signature_algorithms');

    // RFC 8446 §4.2.8: shares in supported_groups order, one per group, each group offered.
    const seen = new Set<number>();
    let lastIdx = -1;
    for (const s of sharesExt.shares) {
      const idx = groupsExt.groups.indexOf(s.group);
      if (idx < 0) abort('illegal_parameter', `key share for a group not in supported_groups (${nameOf(NamedGroup, s.group)})`);
      if (seen.has(s.group)) abort('illegal_parameter', 'two key shares for one group');
      if (idx < lastIdx) abort('illegal_parameter', 'key shares out of supported_groups order');
      seen.add(s.group);
      lastIdx = idx;
    }

    if (retry) {
      // RFC 8446 §4.1.2: the second ClientHello answers the HRR: one share, for the group asked.
      if (sharesExt.shares.length !== 1 || sharesExt.shares[0]!.group !== retry.group) {
        abort('illegal_parameter', `second ClientHello must carry exactly one ${nameOf(NamedGroup, retry.group)} share`);
      }
      if (!cookie) abort('missing_extension', 'second ClientHello lacks the cookie');
      const c = openCookie(this.crypto, this.config.ticketKey, cookie.cookie);
      if (!c || c.suite !== retry.suite || c.group !== retry.group) abort('illegal_parameter', 'cookie does not match the HelloRetryRequest');
      if (early) abort('illegal_parameter', 'early_data after a HelloRetryRequest');
      if (!equalBytes(ch.random, retry.ch1Random)) {
        // The random may not change (RFC 8446 §4.1.2 lists what may); the client_random of the keylog is CH1's.
        abort('illegal_parameter', 'second ClientHello changed the random');
      }
    } else if (cookie) {
      abort('illegal_parameter', 'cookie in a first ClientHello we did not ask for');
    }

    // Group (RFC 8446 §4.2.7, §4.1.4): the server's preference decides — our first group that the
    // client supports (or `requireGroup`). Without a share for it, a HelloRetryRequest asks for one,
    // so `-groups P-384:X25519` against our x25519-first order costs one round trip.
    const wanted = this.config.requireGroup;
    const best =
      wanted !== undefined
        ? groupsExt.groups.includes(wanted)
          ? wanted
          : undefined
        : this.groups.find((g) => groupsExt.groups.includes(g));
    if (best === undefined) abort('handshake_failure', 'no key exchange group in common');
    const share = sharesExt.shares.find((s) => s.group === best);
    if (share === undefined) {
      if (retry) abort('illegal_parameter', 'second ClientHello still has no usable share');
      this.sendHelloRetryRequest(ch, raw, suite, best);
      return;
    }
    const group = share.group as NamedGroup;
    if (!retry) this.setSuite(suite);
    this.addTranscript(raw);

    // PSK resumption (RFC 8446 §4.2.11): only psk_dhe_ke; the first identity that opens and fits the suite.
    let resumedPsk: Uint8Array | undefined;
    let selectedIdentity = -1;
    if (psk && pskModes!.modes.includes(PskKeyExchangeMode.psk_dhe_ke) && (this.config.tickets ?? 2) > 0) {
      for (let i = 0; i < psk.identities.length; i++) {
        const t = openTicket(this.crypto, this.config.ticketKey, psk.identities[i]!.identity);
        if (!t) continue;
        if (suiteHash(t.suite) !== suiteHash(suite)) continue;
        const ageMs = now - t.issuedAt;
        if (ageMs < 0 || ageMs > t.lifetime * 1000) continue;
        if (sni?.hostName !== undefined && t.serverName !== '' && t.serverName !== sni.hostName.toLowerCase()) continue;
        // RFC 8446 §4.2.11.2: the binder covers the transcript up to the truncated ClientHello.
        const truncated = raw.subarray(0, ch.truncatedLength);
        const base = this.transcriptBeforeClientHello!.clone();
        base.update(truncated);
        const th = base.peek();
        const hash = this.requireHash();
        const expected = binderValue(hash, earlyStage(hash, t.psk).binderKey(true), th);
        const binder = psk.binders[i];
        if (!binder || !equalBytes(binder, expected)) abort('decrypt_error', 'PSK binder does not verify');
        resumedPsk = t.psk;
        selectedIdentity = i;
        break;
      }
    }

    // Certificate (not when resuming): SNI first, then the default; its key must sign a scheme the client accepts.
    const hostName = sni?.hostName?.toLowerCase();
    let cert: CertifiedKey | undefined;
    let scheme: SignatureScheme | undefined;
    if (resumedPsk === undefined) {
      const offered = sigAlgs!.schemes;
      const candidates = [
        ...this.config.certificates.filter((c) => hostName !== undefined && c.names.some((n) => nameMatches(n, hostName))),
        ...this.config.certificates,
      ];
      for (const c of candidates) {
        const s = c.key.schemes.find((k) => offered.includes(k));
        if (s !== undefined) {
          cert = c;
          scheme = s;
          break;
        }
      }
      if (!cert || scheme === undefined) abort('handshake_failure', 'no certificate signs with a scheme the client offers');
    }

    // ALPN (RFC 7301 §3.2): our first protocol the client also offers; none in common is fatal.
    let alpn: string | undefined;
    if (alpnExt && this.config.alpn && this.config.alpn.length > 0) {
      alpn = this.config.alpn.find((p) => alpnExt.protocols.includes(p));
      if (alpn === undefined) abort('no_application_protocol', `client offers ${alpnExt.protocols.join(',')}`);
    }

    // RFC 8449 §4: the client's limit bounds what we send (the limit counts the inner content type).
    if (rsl) this.setMaxWriteFragment(rsl.limit - 1);

    // ECDHE (RFC 8446 §7.4): validate the peer's share.
    const mine: KeyShare | undefined = this.crypto.keyShare(group);
    if (!mine) abort('internal_error', `group ${nameOf(NamedGroup, group)} unavailable`);
    const ecdhe = mine.agree(share.keyExchange);
    if (!ecdhe) abort('illegal_parameter', `invalid ${nameOf(NamedGroup, group)} key share`);

    // RFC 8446 §4.2.10: 0-RTT is always declined here; skip it by trial decryption.
    if (early) {
      this.earlySkipBudget = EARLY_SKIP_LIMIT;
      this.earlySkipTrial = true;
    }

    // ServerHello.
    const shExts: Extension[] = [
      { type: 'supported_versions_server', version: TLS13 },
      { type: 'key_share_server', share: { group, keyExchange: mine.publicKey } },
    ];
    if (resumedPsk !== undefined) shExts.push({ type: 'pre_shared_key_server', selectedIdentity });
    this.sendHandshake({
      type: 'server_hello',
      legacyVersion: LEGACY_VERSION,
      random: this.crypto.randomBytes(32),
      legacySessionIdEcho: ch.legacySessionId,
      cipherSuite: suite,
      legacyCompressionMethod: 0,
      extensions: shExts,
      isHelloRetryRequest: false,
    });
    this.flushFlight();
    // RFC 8446 §D.4: middlebox compatibility — a CCS right after our first handshake message.
    if (ch.legacySessionId.length > 0) this.sendChangeCipherSpec();

    const hash = this.requireHash();
    const hs = earlyStage(hash, resumedPsk).handshakeStage(ecdhe);
    const { client: clientHs, server: serverHs } = this.deriveHandshakeSecrets(hs);
    this.setWriteSecret(serverHs);

    // EncryptedExtensions.
    const ee: Extension[] = [];
    // RFC 6066 §3: an empty server_name acknowledges that the name was used to pick the certificate.
    if (hostName !== undefined && resumedPsk === undefined) ee.push({ type: 'server_name', hostName: undefined });
    if (alpn !== undefined) ee.push({ type: 'alpn', protocols: [alpn] });
    if (rsl) ee.push({ type: 'record_size_limit', limit: this.config.recordSizeLimit ?? MAX_PLAINTEXT + 1 });
    this.sendHandshake({ type: 'encrypted_extensions', extensions: ee });

    if (cert && scheme !== undefined) {
      this.sendHandshake({
        type: 'certificate',
        requestContext: new Uint8Array(0),
        entries: cert.chain.map((data) => ({ data, extensions: [] })),
      });
      // RFC 8446 §4.4.3: sign 64 spaces, the context string, 0, and the transcript hash.
      const content = certificateVerifyContent('server', this.transcriptHash());
      this.sendHandshake({ type: 'certificate_verify', scheme, signature: cert.key.sign(scheme, content) });
    }

    // Server Finished (RFC 8446 §4.4.4).
    const verify = finishedVerifyData(hash, serverHs, this.transcriptHash());
    this.sendHandshake({ type: 'finished', verifyData: verify });

    const master = hs.masterStage();
    const thSF = this.transcriptHash();
    const { client: clientApp, server: serverApp } = this.deriveApplicationSecrets(master);
    this.setWriteSecret(serverApp); // flushes EE..Finished under the handshake key
    this.setReadSecret(clientHs);

    const expectedVerify = finishedVerifyData(hash, clientHs, thSF);
    this.st = {
      name: 'expectFinished',
      hs,
      master,
      clientHsSecret: clientHs,
      clientAppSecret: clientApp,
      expectedVerify,
      summary: {
        suite,
        group,
        signatureScheme: scheme,
        alpn,
        serverName: hostName,
        resumed: resumedPsk !== undefined,
        helloRetry: retry !== undefined,
      },
    };
    this.traceOut(
      'Negotiated',
      `${nameOf(CipherSuite, suite)} ${nameOf(NamedGroup, group)}${resumedPsk ? ' resumed (PSK, no certificate)' : ` ${nameOf(SignatureScheme, scheme!)}`}${alpn ? ` alpn=${alpn}` : ''}${retry ? ' after HelloRetryRequest' : ''}`,
    );
  }

  /** The transcript just before the latest ClientHello: the PSK binder's base (RFC 8446 §4.2.11.2). */
  private transcriptBeforeClientHello: RunningHash | undefined;

  protected override addTranscript(raw: Uint8Array): void {
    if (this.transcript && raw[0] === 1) this.transcriptBeforeClientHello = this.transcript.clone();
    super.addTranscript(raw);
  }

  private sendHelloRetryRequest(ch: ClientHello, raw: Uint8Array, suite: CipherSuite, group: NamedGroup): void {
    this.setSuite(suite);
    this.addTranscript(raw);
    const ch1Hash = this.transcriptHash();
    this.restartTranscriptWithMessageHash();
    const cookie = sealCookie(this.crypto, this.config.ticketKey, { ch1Hash, suite, group });
    this.sendHandshake({
      type: 'server_hello',
      legacyVersion: LEGACY_VERSION,
      random: HELLO_RETRY_REQUEST_RANDOM,
      legacySessionIdEcho: ch.legacySessionId,
      cipherSuite: suite,
      legacyCompressionMethod: 0,
      extensions: [
        { type: 'supported_versions_server', version: TLS13 },
        { type: 'key_share_hrr', group },
        { type: 'cookie', cookie },
      ],
      isHelloRetryRequest: true,
    });
    this.flushFlight();
    if (ch.legacySessionId.length > 0) this.sendChangeCipherSpec();
    // RFC 8446 §4.2.10: 0-RTT sent with the first ClientHello is skipped unread.
    if (findExtension(ch.extensions, 'early_data')) {
      this.skipPlainAppData = true;
      this.earlySkipBudget = EARLY_SKIP_LIMIT;
    }
    this.st = { name: 'expectClientHelloAfterRetry', suite, group, ch1Random: ch.random.slice() };
  }

  private onClientFinished(
    now: number,
    st: Extract<ServerState, { name: 'expectFinished' }>,
    verifyData: Uint8Array,
    raw: Uint8Array,
  ): void {
    if (!equalBytes(verifyData, st.expectedVerify)) abort('decrypt_error', 'client Finished does not verify');
    this.addTranscript(raw);
    this.earlySkipBudget = 0;
    this.skipPlainAppData = false;
    this.setReadSecret(st.clientAppSecret);
    const resumption = st.master.resumptionSecret(this.transcriptHash());
    this.st = { name: 'connected' };
    this.completeHandshake();
    this.emit({ type: 'handshake', summary: st.summary });
    this.sendTickets(now, resumption, st.summary);
  }

  /** RFC 8446 §4.6.1: NewSessionTickets, each with its own nonce, after the handshake. */
  private sendTickets(now: number, resumption: Uint8Array, summary: HandshakeSummary): void {
    const count = this.config.tickets ?? 2;
    const lifetime = Math.min(this.config.ticketLifetime ?? 7200, MAX_TICKET_LIFETIME);
    const hash = this.requireHash();
    for (let i = 0; i < count; i++) {
      const nonce = new Uint8Array([i]);
      const psk = resumptionPsk(hash, resumption, nonce);
      const ageAddBytes = this.crypto.randomBytes(4);
      const ageAdd = ((ageAddBytes[0]! << 24) | (ageAddBytes[1]! << 16) | (ageAddBytes[2]! << 8) | ageAddBytes[3]!) >>> 0;
      const ticket = sealTicket(this.crypto, this.config.ticketKey, {
        suite: this.suite!,
        psk,
        issuedAt: now,
        lifetime,
        ageAdd,
        alpn: summary.alpn ?? '',
        serverName: summary.serverName ?? '',
      });
      this.sendHandshakePostHandshake({ type: 'new_session_ticket', lifetime, ageAdd, nonce, ticket, extensions: [] });
    }
  }
}

/** RFC 6125 §6.4.3: a wildcard only as the whole left-most label. */
function nameMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (pattern.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot + 1) === pattern.slice(2);
  }
  return false;
}

export function createServerConnection(config: ServerConfig): TlsServerConnection {
  return new TlsServerConnection(config);
}
