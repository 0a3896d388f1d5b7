// The TLS 1.3 key schedule (RFC 8446 §7.1–§7.5 on HKDF, RFC 5869): one label table, and the secrets
// as staged objects (early → handshake → master) so a state can only hold what it has derived so far.

import type { CipherSuite } from './constants.js';
import { suiteKeyLen, type HashAlgorithm } from './crypto/provider.js';
import type { KeyLogLabel } from './engine-api.js';

/**
 * RFC 8446 §7.1: the Derive-Secret labels, with the NSS key-log label of each secret that has one
 * (https://tlswg.org/sslkeylogfile). The only place these strings live.
 */
export const SECRETS = {
  clientEarly: { label: 'c e traffic', keyLog: 'CLIENT_EARLY_TRAFFIC_SECRET' },
  earlyExporter: { label: 'e exp master', keyLog: 'EARLY_EXPORTER_SECRET' },
  binderResumption: { label: 'res binder' },
  binderExternal: { label: 'ext binder' },
  clientHandshake: { label: 'c hs traffic', keyLog: 'CLIENT_HANDSHAKE_TRAFFIC_SECRET' },
  serverHandshake: { label: 's hs traffic', keyLog: 'SERVER_HANDSHAKE_TRAFFIC_SECRET' },
  clientApplication: { label: 'c ap traffic', keyLog: 'CLIENT_TRAFFIC_SECRET_0' },
  serverApplication: { label: 's ap traffic', keyLog: 'SERVER_TRAFFIC_SECRET_0' },
  exporter: { label: 'exp master', keyLog: 'EXPORTER_SECRET' },
  resumption: { label: 'res master' },
} as const satisfies Record<string, { label: string; keyLog?: KeyLogLabel | 'EARLY_EXPORTER_SECRET' }>;
// Note: 'EARLY_EXPORTER_SECRET' is an NSS key-log label that engine-api's KeyLogLabel does not list
// (tunstack sends no 0-RTT); every other keyLog above is a KeyLogLabel.

export type SecretName = keyof typeof SECRETS;

/** RFC 8446 §7.1: the labels of the non-Derive-Secret HKDF-Expand-Label calls. */
const LABEL = {
  derived: 'derived',
  key: 'key', // §7.3
  iv: 'iv', // §7.3
  finished: 'finished', // §4.4.4
  trafficUpdate: 'traffic upd', // §7.2
  resumption: 'resumption', // §4.6.1
  exporter: 'exporter', // §7.5
} as const;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
/** RFC 8446 §7.1: `opaque label<7..255> = "tls13 " + Label`. */
const TLS13_PREFIX = utf8.encode('tls13 ');

// ───────────────────────────── HKDF (RFC 5869) ─────────────────────────────

/** RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zeros (HMAC pads keys with zeros anyway). */
export function hkdfExtract(hash: HashAlgorithm, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hash.hmac(salt.length === 0 ? new Uint8Array(hash.outputLen) : salt, ikm);
}

/** RFC 5869 §2.3: OKM = first L octets of T(1) | T(2) | …, T(i) = HMAC(PRK, T(i-1) | info | i). */
export function hkdfExpand(hash: HashAlgorithm, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const hl = hash.outputLen;
  // RFC 5869 §2.3: L <= 255*HashLen. A caller asking for more is a local bug.
  if (!Number.isInteger(length) || length < 0 || length > 255 * hl) {
    throw new RangeError(`HKDF-Expand length ${length} out of range 0..${255 * hl}`);
  }
  const out = new Uint8Array(length);
  const block = new Uint8Array(hl + info.length + 1);
  let prevLen = 0; // T(0) is empty
  for (let i = 1, at = 0; at < length; i++) {
    block.set(info, prevLen);
    block[prevLen + info.length] = i;
    const t = hash.hmac(prk, block.subarray(0, prevLen + info.length + 1));
    const n = Math.min(hl, length - at);
    out.set(t.subarray(0, n), at);
    at += n;
    block.set(t, 0);
    prevLen = hl;
  }
  return out;
}

/**
 * RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length),
 * struct { uint16 length = Length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255> = Context; } HkdfLabel.
 */
export function hkdfExpandLabel(
  hash: HashAlgorithm,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const l = utf8.encode(label);
  const fullLen = TLS13_PREFIX.length + l.length;
  if (fullLen > 255) throw new RangeError(`HKDF label "${label}" longer than 249 bytes`);
  if (context.length > 255) throw new RangeError(`HKDF context of ${context.length} bytes exceeds 255`);
  if (length > 0xffff) throw new RangeError(`HKDF-Expand-Label length ${length} exceeds 2^16-1`);
  const info = new Uint8Array(2 + 1 + fullLen + 1 + context.length);
  info[0] = length >>> 8;
  info[1] = length & 0xff;
  info[2] = fullLen;
  info.set(TLS13_PREFIX, 3);
  info.set(l, 3 + TLS13_PREFIX.length);
  info[3 + fullLen] = context.length;
  info.set(context, 4 + fullLen);
  return hkdfExpand(hash, secret, info, length);
}

/**
 * RFC 8446 §7.1: Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length).
 * Takes the transcript hash already computed (the caller keeps the running transcript).
 */
export function deriveSecret(hash: HashAlgorithm, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, hash.outputLen);
}

/** RFC 8446 §7.1: Transcript-Hash("") — the context of every "derived" step and of the binder keys. */
export function emptyTranscriptHash(hash: HashAlgorithm): Uint8Array {
  return hash.digest(EMPTY);
}

// ───────────────────────────── the staged secrets (RFC 8446 §7.1) ─────────────────────────────

/** The Early Secret and what derives from it. */
export interface EarlyStage {
  readonly hash: HashAlgorithm;
  /** Early Secret = HKDF-Extract(0, PSK). */
  readonly secret: Uint8Array;
  /** binder_key = Derive-Secret(Early Secret, "res binder" | "ext binder", ""). */
  binderKey(resumption: boolean): Uint8Array;
  /** client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello). */
  clientEarlyTrafficSecret(transcriptHashCH: Uint8Array): Uint8Array;
  /** early_exporter_master_secret = Derive-Secret(Early Secret, "e exp master", ClientHello). */
  earlyExporterSecret(transcriptHashCH: Uint8Array): Uint8Array;
  /** Derive-Secret(Early Secret, "derived", ""): the salt of the Handshake Secret. */
  derived(): Uint8Array;
  /** Handshake Secret = HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE); absent (EC)DHE = zeros (psk_ke). */
  handshakeStage(ecdhe: Uint8Array | undefined): HandshakeStage;
}

/** The Handshake Secret and what derives from it. */
export interface HandshakeStage {
  readonly hash: HashAlgorithm;
  readonly secret: Uint8Array;
  /** client_handshake_traffic_secret = Derive-Secret(., "c hs traffic", ClientHello...ServerHello). */
  clientTrafficSecret(thCHtoSH: Uint8Array): Uint8Array;
  /** server_handshake_traffic_secret = Derive-Secret(., "s hs traffic", ClientHello...ServerHello). */
  serverTrafficSecret(thCHtoSH: Uint8Array): Uint8Array;
  /** Derive-Secret(Handshake Secret, "derived", ""): the salt of the Master Secret. */
  derived(): Uint8Array;
  /** Master Secret = HKDF-Extract(Derive-Secret(., "derived", ""), 0). */
  masterStage(): MasterStage;
}

/** The Master Secret and what derives from it. */
export interface MasterStage {
  readonly hash: HashAlgorithm;
  readonly secret: Uint8Array;
  /** client_application_traffic_secret_0 = Derive-Secret(., "c ap traffic", ClientHello...server Finished). */
  clientTrafficSecret(thToServerFinished: Uint8Array): Uint8Array;
  /** server_application_traffic_secret_0 = Derive-Secret(., "s ap traffic", ClientHello...server Finished). */
  serverTrafficSecret(thToServerFinished: Uint8Array): Uint8Array;
  /** exporter_master_secret = Derive-Secret(., "exp master", ClientHello...server Finished). */
  exporterSecret(thToServerFinished: Uint8Array): Uint8Array;
  /** resumption_master_secret = Derive-Secret(., "res master", ClientHello...client Finished). */
  resumptionSecret(thToClientFinished: Uint8Array): Uint8Array;
}

/** RFC 8446 §7.1: starts the schedule. `psk` absent = a string of Hash.length zero bytes (no PSK). */
export function earlyStage(hash: HashAlgorithm, psk?: Uint8Array): EarlyStage {
  const zeros = new Uint8Array(hash.outputLen);
  // RFC 8446 §7.1: "0" salt = a string of Hash.length bytes set to zero; PSK = zeros when no PSK is used.
  const secret = hkdfExtract(hash, zeros, psk ?? zeros);
  const derived = (): Uint8Array => deriveSecret(hash, secret, LABEL.derived, emptyTranscriptHash(hash));
  return {
    hash,
    secret,
    binderKey: (resumption) =>
      deriveSecret(
        hash,
        secret,
        resumption ? SECRETS.binderResumption.label : SECRETS.binderExternal.label,
        emptyTranscriptHash(hash),
      ),
    clientEarlyTrafficSecret: (th) => deriveSecret(hash, secret, SECRETS.clientEarly.label, th),
    earlyExporterSecret: (th) => deriveSecret(hash, secret, SECRETS.earlyExporter.label, th),
    derived,
    handshakeStage: (ecdhe) => handshakeStage(hash, hkdfExtract(hash, derived(), ecdhe ?? zeros)),
  };
}

function handshakeStage(hash: HashAlgorithm, secret: Uint8Array): HandshakeStage {
  const derived = (): Uint8Array => deriveSecret(hash, secret, LABEL.derived, emptyTranscriptHash(hash));
  return {
    hash,
    secret,
    clientTrafficSecret: (th) => deriveSecret(hash, secret, SECRETS.clientHandshake.label, th),
    serverTrafficSecret: (th) => deriveSecret(hash, secret, SECRETS.serverHandshake.label, th),
    derived,
    // RFC 8446 §7.1: Master Secret = HKDF-Extract(salt = Derive-Secret(Handshake Secret, "derived", ""), IKM = 0).
    masterStage: () => masterStage(hash, hkdfExtract(hash, derived(), new Uint8Array(hash.outputLen))),
  };
}

function masterStage(hash: HashAlgorithm, secret: Uint8Array): MasterStage {
  return {
    hash,
    secret,
    clientTrafficSecret: (th) => deriveSecret(hash, secret, SECRETS.clientApplication.label, th),
    serverTrafficSecret: (th) => deriveSecret(hash, secret, SECRETS.serverApplication.label, th),
    exporterSecret: (th) => deriveSecret(hash, secret, SECRETS.exporter.label, th),
    resumptionSecret: (th) => deriveSecret(hash, secret, SECRETS.resumption.label, th),
  };
}

// ───────────────────────────── keys from secrets ─────────────────────────────

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

/**
 * RFC 8446 §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
 * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length); iv_length is 12 for all three suites (§5.3).
 */
export function trafficKeys(hash: HashAlgorithm, suite: CipherSuite, secret: Uint8Array): TrafficKeys {
  return {
    key: hkdfExpandLabel(hash, secret, LABEL.key, EMPTY, suiteKeyLen(suite)),
    iv: hkdfExpandLabel(hash, secret, LABEL.iv, EMPTY, 12),
  };
}

/** RFC 8446 §4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length). */
export function finishedKey(hash: HashAlgorithm, baseKey: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, baseKey, LABEL.finished, EMPTY, hash.outputLen);
}

/** RFC 8446 §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*, CertificateVerify*)). */
export function finishedVerifyData(hash: HashAlgorithm, baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  return hash.hmac(finishedKey(hash, baseKey), transcriptHash);
}

/** RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length). */
export function nextTrafficSecret(hash: HashAlgorithm, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, LABEL.trafficUpdate, EMPTY, hash.outputLen);
}

/** RFC 8446 §4.6.1: the ticket's PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length). */
export function resumptionPsk(hash: HashAlgorithm, resumptionSecret: Uint8Array, ticketNonce: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, resumptionSecret, LABEL.resumption, ticketNonce, hash.outputLen);
}

/**
 * RFC 8446 §4.2.11.2: "The PskBinderEntry is computed in the same way as the Finished message (Section 4.4.4)
 * but with the BaseKey being the binder_key", over the transcript hash of the truncated ClientHello.
 */
export function binderValue(hash: HashAlgorithm, binderKey: Uint8Array, truncatedTranscriptHash: Uint8Array): Uint8Array {
  return finishedVerifyData(hash, binderKey, truncatedTranscriptHash);
}

/**
 * RFC 8446 §7.5: TLS-Exporter(label, context_value, key_length) =
 *   HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length).
 * "Derive-Secret(Secret, label, "")" hashes an empty message list, i.e. Hash("").
 */
export function exporter(
  hash: HashAlgorithm,
  exporterSecret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const perLabel = deriveSecret(hash, exporterSecret, label, emptyTranscriptHash(hash));
  return hkdfExpandLabel(hash, perLabel, LABEL.exporter, hash.digest(context), length);
}

/**
 * Constant-time comparison for Finished verify_data and PSK binders (RFC 8446 §4.4.4, §4.2.11.2):
 * the time depends only on the lengths, which are public.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
