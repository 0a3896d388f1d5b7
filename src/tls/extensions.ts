// TLS 1.3 extension codec (RFC 8446 §4.2, RFC 6066 §3, RFC 7301 §3.1, RFC 8449 §4): an extension block
// decoded per message context into typed entries, strictly (duplicates, wrong context, bad lengths).
// Throws DecodeError (→ decode_error) or IllegalParameterError (→ illegal_parameter); callers reach it
// only through messages/index.ts `parseHandshakeBody`, which turns both into a typed result.

import { DecodeError, Reader, Writer } from './codec.js';
import { ExtensionType } from './constants.js';
import type { Extension, ExtensionContext, KeyShareEntry, PskIdentity } from './messages/types.js';

/** A well-formed encoding of an impossible value: becomes an illegal_parameter alert (RFC 8446 §6.2). */
export class IllegalParameterError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** One extension as found on the wire, before decoding. `data` is a view into the message. */
export interface RawExtension {
  code: number;
  data: Uint8Array;
}

const E = ExtensionType;
const CH: ExtensionContext = 'client_hello';
const SH: ExtensionContext = 'server_hello';
const HRR: ExtensionContext = 'hello_retry_request';
const EE: ExtensionContext = 'encrypted_extensions';
const CT: ExtensionContext = 'certificate';
const CR: ExtensionContext = 'certificate_request';
const NST: ExtensionContext = 'new_session_ticket';

/**
 * RFC 8446 §4.2 (table) + RFC 8449 §4: the messages each TLS 1.3 extension may appear in. "If an
 * implementation receives an extension which it recognizes and which is not specified for the message
 * in which it appears, it MUST abort the handshake with an "illegal_parameter" alert." Code points not
 * listed here are unknown to TLS 1.3 and left to the state machine (unsupported_extension if unsolicited).
 */
const ALLOWED_IN: ReadonlyMap<number, readonly ExtensionContext[]> = new Map<number, readonly ExtensionContext[]>([
  [E.server_name, [CH, EE]],
  [E.max_fragment_length, [CH, EE]],
  [E.status_request, [CH, CR, CT]],
  [E.supported_groups, [CH, EE]],
  [E.signature_algorithms, [CH, CR]],
  [E.use_srtp, [CH, EE]],
  [E.heartbeat, [CH, EE]],
  [E.application_layer_protocol_negotiation, [CH, EE]],
  [E.signed_certificate_timestamp, [CH, CR, CT]],
  [E.client_certificate_type, [CH, EE]],
  [E.server_certificate_type, [CH, EE]],
  [E.padding, [CH]],
  [E.record_size_limit, [CH, EE]], // RFC 8449 §4
  [E.pre_shared_key, [CH, SH]],
  [E.early_data, [CH, EE, NST]],
  [E.supported_versions, [CH, SH, HRR]],
  [E.cookie, [CH, HRR]],
  [E.psk_key_exchange_modes, [CH]],
  [E.certificate_authorities, [CH, CR]],
  [E.oid_filters, [CR]],
  [E.post_handshake_auth, [CH]],
  [E.signature_algorithms_cert, [CH, CR]],
  [E.key_share, [CH, SH, HRR]],
]);

/**
 * Reads `Extension extensions<0..2^16-1>` (length prefix included) into raw entries.
 * RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given extension
 * block" → illegal_parameter.
 */
export function readRawExtensions(r: Reader): RawExtension[] {
  const block = r.sub16('extensions');
  const out: RawExtension[] = [];
  const seen = new Set<number>();
  while (!block.atEnd()) {
    const code = block.u16('extension_type');
    const data = block.vec16('extension_data');
    if (seen.has(code)) throw new IllegalParameterError(`duplicate extension ${extensionName(code)}`);
    seen.add(code);
    out.push({ code, data });
  }
  return out;
}

/** Decodes raw entries in a context (see `parseExtensions`). */
export function decodeExtensions(raw: readonly RawExtension[], ctx: ExtensionContext): Extension[] {
  const out: Extension[] = [];
  for (let i = 0; i < raw.length; i++) {
    const { code, data } = raw[i]!;
    const allowed = ALLOWED_IN.get(code);
    if (allowed !== undefined && !allowed.includes(ctx)) {
      throw new IllegalParameterError(`${extensionName(code)} not allowed in ${ctx}`);
    }
    // RFC 8446 §4.2.11: "The "pre_shared_key" extension MUST be the last extension in the ClientHello
    // ... Servers MUST check that it is the last extension and otherwise fail the handshake with an
    // "illegal_parameter" alert."
    if (code === E.pre_shared_key && ctx === CH && i !== raw.length - 1) {
      throw new IllegalParameterError('pre_shared_key is not the last extension');
    }
    out.push(decodeOne(code, data, ctx));
  }
  return out;
}

/**
 * Reads an extension block (with its u16 length) and decodes every entry for `ctx`.
 * Throws DecodeError / IllegalParameterError; use through `parseHandshakeBody`, which never throws.
 */
export function parseExtensions(r: Reader, ctx: ExtensionContext): Extension[] {
  return decodeExtensions(readRawExtensions(r), ctx);
}

function decodeOne(code: number, data: Uint8Array, ctx: ExtensionContext): Extension {
  const r = new Reader(data);
  let ext: Extension;
  switch (code) {
    case E.server_name:
      ext = { type: 'server_name', hostName: ctx === CH ? readServerNameList(r) : undefined };
      break;
    case E.supported_groups:
      // RFC 8446 §4.2.7: NamedGroup named_group_list<2..2^16-1>
      ext = { type: 'supported_groups', groups: r.u16List('named_group_list', 2) };
      break;
    case E.signature_algorithms:
      // RFC 8446 §4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>
      ext = { type: 'signature_algorithms', schemes: r.u16List('supported_signature_algorithms', 2) };
      break;
    case E.signature_algorithms_cert:
      ext = { type: 'signature_algorithms_cert', schemes: r.u16List('supported_signature_algorithms', 2) };
      break;
    case E.application_layer_protocol_negotiation:
      ext = { type: 'alpn', protocols: readAlpn(r, ctx) };
      break;
    case E.supported_versions:
      ext = ctx === CH ? { type: 'supported_versions_client', versions: readVersions(r) } : { type: 'supported_versions_server', version: r.u16('selected_version') };
      break;
    case E.key_share:
      if (ctx === CH) ext = { type: 'key_share_client', shares: readClientShares(r) };
      else if (ctx === HRR) ext = { type: 'key_share_hrr', group: r.u16('selected_group') }; // RFC 8446 §4.2.8
      else ext = { type: 'key_share_server', share: readKeyShareEntry(r) };
      break;
    case E.cookie:
      // RFC 8446 §4.2.2: opaque cookie<1..2^16-1>
      ext = { type: 'cookie', cookie: r.vec16('cookie', 1).slice() };
      break;
    case E.psk_key_exchange_modes:
      // RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>
      ext = { type: 'psk_key_exchange_modes', modes: Array.from(r.vec8('ke_modes', 1)) };
      break;
    case E.pre_shared_key:
      ext = ctx === CH ? readOfferedPsks(r) : { type: 'pre_shared_key_server', selectedIdentity: r.u16('selected_identity') };
      break;
    case E.early_data:
      // RFC 8446 §4.2.10: empty in ClientHello/EncryptedExtensions, uint32 max_early_data_size in NST.
      ext = { type: 'early_data', maxEarlyDataSize: ctx === NST ? r.u32('max_early_data_size') : undefined };
      break;
    case E.record_size_limit: {
      // RFC 8449 §4: "Endpoints MUST NOT send a "record_size_limit" extension with a value smaller than
      // 64. An endpoint MUST treat receipt of a smaller value as a fatal error and generate an
      // "illegal_parameter" alert." Values above 2^14+1 are accepted here (a server MUST NOT enforce
      // the maximum); the state machine clamps.
      const limit = r.u16('record_size_limit');
      if (limit < 64) throw new IllegalParameterError(`record_size_limit ${limit} < 64`);
      ext = { type: 'record_size_limit', limit };
      break;
    }
    default:
      return { type: 'raw', code, data: data.slice() };
  }
  r.expectEnd(extensionName(code));
  return ext;
}

/**
 * RFC 6066 §3: ServerName server_name_list<1..2^16-1>, each { NameType name_type; HostName opaque<1..2^16-1> }.
 * Only host_name (0) is defined and the list "MUST NOT contain more than one name of the same
 * name_type", so — like BoringSSL and OpenSSL — exactly one host_name entry is required (decode_error
 * otherwise). HostName is ASCII; anything else (NUL, non-ASCII, spaces) → illegal_parameter.
 */
function readServerNameList(r: Reader): string {
  const list = r.sub16('server_name_list', 1);
  const nameType = list.u8('name_type');
  if (nameType !== 0) throw new DecodeError(`server_name name_type ${nameType} is not host_name`);
  const name = list.vec16('host_name', 1);
  list.expectEnd('server_name_list (one host_name)');
  let s = '';
  for (const b of name) {
    if (b < 0x21 || b > 0x7e) throw new IllegalParameterError('host_name is not printable ASCII');
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, ProtocolName opaque<1..2^8-1>; "Empty
 * strings MUST NOT be included". In the server's answer "the "ProtocolNameList" MUST contain exactly
 * one "ProtocolName"". Names are byte strings, kept as latin1 (one char per byte) so they round-trip.
 */
function readAlpn(r: Reader, ctx: ExtensionContext): string[] {
  const list = r.sub16('protocol_name_list', 2);
  const out: string[] = [];
  while (!list.atEnd()) out.push(latin1(list.vec8('protocol_name', 1)));
  if (ctx !== CH && out.length !== 1) throw new DecodeError(`server ALPN carries ${out.length} protocols`);
  return out;
}

/** RFC 8446 §4.2.1: ProtocolVersion versions<2..254> (client). */
function readVersions(r: Reader): number[] {
  const body = r.vec8('versions', 2);
  if (body.length % 2 !== 0) throw new DecodeError('versions has an odd length');
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 2) out.push((body[i]! << 8) | body[i + 1]!);
  return out;
}

/** RFC 8446 §4.2.8: struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry. */
function readKeyShareEntry(r: Reader): KeyShareEntry {
  const group = r.u16('group');
  const keyExchange = r.vec16('key_exchange', 1).slice();
  return { group, keyExchange };
}

/**
 * RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>. "Clients MUST NOT offer multiple
 * KeyShareEntry values for the same group ... Servers MAY check for violations of these rules and
 * abort the handshake with an "illegal_parameter" alert if one is violated." We check.
 */
function readClientShares(r: Reader): KeyShareEntry[] {
  const list = r.sub16('client_shares');
  const shares: KeyShareEntry[] = [];
  const groups = new Set<number>();
  while (!list.atEnd()) {
    const e = readKeyShareEntry(list);
    if (groups.has(e.group)) throw new IllegalParameterError(`two key shares for group 0x${e.group.toString(16)}`);
    groups.add(e.group);
    shares.push(e);
  }
  return shares;
}

/**
 * RFC 8446 §4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>; },
 * PskIdentity { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; }, PskBinderEntry opaque<32..255>.
 * One binder per identity; a count mismatch is well-formed but impossible → illegal_parameter.
 */
function readOfferedPsks(r: Reader): Extension {
  const ids = r.sub16('identities', 7);
  const identities: PskIdentity[] = [];
  while (!ids.atEnd()) {
    const identity = ids.vec16('identity', 1).slice();
    const obfuscatedTicketAge = ids.u32('obfuscated_ticket_age');
    identities.push({ identity, obfuscatedTicketAge });
  }
  const bs = r.sub16('binders', 33);
  const binders: Uint8Array[] = [];
  while (!bs.atEnd()) binders.push(bs.vec8('binder', 32).slice());
  if (binders.length !== identities.length) {
    throw new IllegalParameterError(`${identities.length} PSK identities but ${binders.length} binders`);
  }
  return { type: 'pre_shared_key_client', identities, binders };
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Serialization. Input is local (built by the state machines), so misuse throws RangeError.

/** The wire code point of an extension entry. */
export function extensionCode(ext: Extension): number {
  switch (ext.type) {
    case 'server_name':
      return E.server_name;
    case 'supported_groups':
      return E.supported_groups;
    case 'signature_algorithms':
      return E.signature_algorithms;
    case 'signature_algorithms_cert':
      return E.signature_algorithms_cert;
    case 'alpn':
      return E.application_layer_protocol_negotiation;
    case 'supported_versions_client':
    case 'supported_versions_server':
      return E.supported_versions;
    case 'key_share_client':
    case 'key_share_server':
    case 'key_share_hrr':
      return E.key_share;
    case 'cookie':
      return E.cookie;
    case 'psk_key_exchange_modes':
      return E.psk_key_exchange_modes;
    case 'pre_shared_key_client':
    case 'pre_shared_key_server':
      return E.pre_shared_key;
    case 'early_data':
      return E.early_data;
    case 'record_size_limit':
      return E.record_size_limit;
    case 'raw':
      return ext.code;
  }
}

/** The contexts in which a typed form is meaningful (the parser produces it only there). */
function formFits(ext: Extension, ctx: ExtensionContext): boolean {
  switch (ext.type) {
    case 'supported_versions_client':
    case 'key_share_client':
    case 'pre_shared_key_client':
      return ctx === CH;
    case 'supported_versions_server':
      return ctx === SH || ctx === HRR;
    case 'key_share_server':
    case 'pre_shared_key_server':
      return ctx === SH;
    case 'key_share_hrr':
      return ctx === HRR;
    case 'server_name':
      return (ext.hostName !== undefined) === (ctx === CH);
    case 'early_data':
      return (ext.maxEarlyDataSize !== undefined) === (ctx === NST);
    default:
      return true;
  }
}

/** Writes `Extension extensions<0..2^16-1>` (with its length). Duplicates are not checked (tests build bad input). */
export function serializeExtensions(w: Writer, exts: readonly Extension[], ctx: ExtensionContext): void {
  w.vec16(() => {
    for (const ext of exts) {
      if (!formFits(ext, ctx)) throw new RangeError(`extension ${describeForm(ext)} cannot be written in ${ctx}`);
      w.u16(extensionCode(ext));
      w.vec16(() => writeBody(w, ext));
    }
  });
}

function describeForm(ext: Extension): string {
  if (ext.type === 'server_name') return ext.hostName === undefined ? 'server_name (empty)' : 'server_name (host_name)';
  if (ext.type === 'early_data') return ext.maxEarlyDataSize === undefined ? 'early_data (empty)' : 'early_data (max_early_data_size)';
  return ext.type;
}

function writeBody(w: Writer, ext: Extension): void {
  switch (ext.type) {
    case 'server_name':
      if (ext.hostName !== undefined) {
        const name = ext.hostName;
        w.vec16(() => {
          w.u8(0); // host_name
          w.vec16(() => w.bytes(ascii(name)));
        });
      }
      return;
    case 'supported_groups':
      w.u16List(ext.groups);
      return;
    case 'signature_algorithms':
    case 'signature_algorithms_cert':
      w.u16List(ext.schemes);
      return;
    case 'alpn':
      w.vec16(() => {
        for (const p of ext.protocols) w.vec8(() => w.bytes(fromLatin1(p)));
      });
      return;
    case 'supported_versions_client':
      w.vec8(() => {
        for (const v of ext.versions) w.u16(v);
      });
      return;
    case 'supported_versions_server':
      w.u16(ext.version);
      return;
    case 'key_share_client':
      w.vec16(() => {
        for (const s of ext.shares) w.u16(s.group).opaque16(s.keyExchange);
      });
      return;
    case 'key_share_server':
      w.u16(ext.share.group).opaque16(ext.share.keyExchange);
      return;
    case 'key_share_hrr':
      w.u16(ext.group);
      return;
    case 'cookie':
      w.opaque16(ext.cookie);
      return;
    case 'psk_key_exchange_modes':
      w.opaque8(Uint8Array.from(ext.modes));
      return;
    case 'pre_shared_key_client':
      w.vec16(() => {
        for (const id of ext.identities) w.opaque16(id.identity).u32(id.obfuscatedTicketAge);
      });
      w.vec16(() => {
        for (const b of ext.binders) w.opaque8(b);
      });
      return;
    case 'pre_shared_key_server':
      w.u16(ext.selectedIdentity);
      return;
    case 'early_data':
      if (ext.maxEarlyDataSize !== undefined) w.u32(ext.maxEarlyDataSize);
      return;
    case 'record_size_limit':
      w.u16(ext.limit);
      return;
    case 'raw':
      w.bytes(ext.data);
      return;
  }
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new RangeError(`host name ${JSON.stringify(s)} is not printable ASCII`);
    out[i] = c;
  }
  return out;
}

function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`ALPN protocol ${JSON.stringify(s)} has a character above U+00FF`);
    out[i] = c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lookup helpers.

/** The first extension of a given typed kind: `findExtension(ch.extensions, 'key_share_client')?.shares`. */
export function findExtension<T extends Extension['type']>(exts: readonly Extension[], type: T): Extract<Extension, { type: T }> | undefined {
  for (const e of exts) if (e.type === type) return e as Extract<Extension, { type: T }>;
  return undefined;
}

/** Whether any entry has this wire code point (typed or raw): for "did the peer send X" checks. */
export function hasExtensionCode(exts: readonly Extension[], code: number): boolean {
  return exts.some((e) => extensionCode(e) === code);
}

/** "key_share", "application_layer_protocol_negotiation", or "0x1a2b" for code points we do not name. */
export function extensionName(code: number): string {
  for (const [name, v] of Object.entries(ExtensionType)) if (v === code) return name;
  return `0x${code.toString(16).padStart(4, '0')}`;
}
