// ClientHello (RFC 8446 §4.1.2): strict parse and serialize, plus the PSK binder truncation of
// RFC 8446 §4.2.11.2 (`truncatedLength` on parse, `serializeClientHelloWithBinders` on send).

import { DecodeError, type Reader, Writer } from '../codec.js';
import { HandshakeType, TLS13 } from '../constants.js';
import { IllegalParameterError, findExtension, parseExtensions, serializeExtensions } from '../extensions.js';
import type { ClientHello, Extension } from './types.js';

/** Parses a ClientHello body (no header). `bodyLength` is the body's full length, for `truncatedLength`. */
export function parseClientHelloBody(r: Reader, bodyLength: number): ClientHello {
  // struct { ProtocolVersion legacy_version = 0x0303; Random random; opaque legacy_session_id<0..32>;
  //          CipherSuite cipher_suites<2..2^16-2>; opaque legacy_compression_methods<1..2^8-1>;
  //          Extension extensions<8..2^16-1>; } ClientHello;
  const legacyVersion = r.u16('legacy_version');
  const random = r.bytesN(32, 'random').slice();
  const sid = r.vec8('legacy_session_id');
  if (sid.length > 32) throw new DecodeError(`legacy_session_id of ${sid.length} bytes > 32`);
  const cipherSuites = r.u16List('cipher_suites', 2);
  const legacyCompressionMethods = r.vec8('legacy_compression_methods', 1).slice();
  // A pre-TLS-1.3 ClientHello may omit the extensions block (RFC 5246 §7.4.1.2); it then offers no
  // supported_versions and the state machine answers protocol_version.
  const extensions: Extension[] = r.atEnd() ? [] : parseExtensions(r, 'client_hello');
  r.expectEnd('ClientHello');

  // RFC 8446 §4.1.2: "For every TLS 1.3 ClientHello, this vector MUST contain exactly one byte, set to
  // zero ... If a TLS 1.3 ClientHello is received with any other value in this field, the server MUST
  // abort the handshake with an "illegal_parameter" alert."
  const versions = findExtension(extensions, 'supported_versions_client');
  if (versions?.versions.includes(TLS13) && !(legacyCompressionMethods.length === 1 && legacyCompressionMethods[0] === 0)) {
    throw new IllegalParameterError('TLS 1.3 ClientHello with legacy_compression_methods other than [null]');
  }

  const ch: ClientHello = {
    type: 'client_hello',
    legacyVersion,
    random,
    legacySessionId: sid.slice(),
    cipherSuites,
    legacyCompressionMethods,
    extensions,
  };
  const psk = findExtension(extensions, 'pre_shared_key_client');
  if (psk !== undefined) {
    // pre_shared_key is the last extension and nothing follows the extensions, so the binders list
    // (with its u16 length) is the tail of the message.
    ch.truncatedLength = 4 + bodyLength - bindersListLength(psk.binders);
  }
  return ch;
}

/** Bytes of `PskBinderEntry binders<33..2^16-1>` including its 2-byte length. */
export function bindersListLength(binders: readonly Uint8Array[]): number {
  let n = 2;
  for (const b of binders) n += 1 + b.length;
  return n;
}

export function writeClientHelloBody(w: Writer, ch: ClientHello): void {
  if (ch.random.length !== 32) throw new RangeError('ClientHello.random must be 32 bytes');
  w.u16(ch.legacyVersion);
  w.bytes(ch.random);
  w.opaque8(ch.legacySessionId);
  w.u16List(ch.cipherSuites);
  w.opaque8(ch.legacyCompressionMethods);
  serializeExtensions(w, ch.extensions, 'client_hello');
}

/**
 * RFC 8446 §4.2.11.2: serializes `ch` (header included) whose pre_shared_key binders are placeholders of
 * the final lengths, hands the truncated message (everything before the binders list) to
 * `computeBinders`, and patches the returned binders in. pre_shared_key must be the last extension and
 * the binders returned must match the placeholders in count and length (RangeError otherwise).
 */
export function serializeClientHelloWithBinders(ch: ClientHello, computeBinders: (truncated: Uint8Array) => Uint8Array[]): Uint8Array {
  const last = ch.extensions[ch.extensions.length - 1];
  if (last?.type !== 'pre_shared_key_client') throw new RangeError('pre_shared_key must be the last ClientHello extension');
  const w = new Writer(512);
  w.u8(HandshakeType.client_hello);
  w.vec24(() => writeClientHelloBody(w, ch));
  const full = w.finish();
  const listLen = bindersListLength(last.binders);
  const cut = full.length - listLen;
  const binders = computeBinders(full.slice(0, cut));
  if (binders.length !== last.binders.length) {
    throw new RangeError(`computeBinders returned ${binders.length} binders for ${last.binders.length} identities`);
  }
  let at = cut + 2;
  for (let i = 0; i < binders.length; i++) {
    const b = binders[i]!;
    if (b.length !== last.binders[i]!.length) throw new RangeError(`binder ${i} is ${b.length} bytes, placeholder ${last.binders[i]!.length}`);
    full[at] = b.length;
    full.set(b, at + 1);
    at += 1 + b.length;
  }
  return full;
}
