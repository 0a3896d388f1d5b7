// ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4): one wire format, told apart by `random`.

import { DecodeError, type Reader, type Writer } from '../codec.js';
import { ExtensionType, HELLO_RETRY_REQUEST_RANDOM } from '../constants.js';
import { IllegalParameterError, decodeExtensions, readRawExtensions, serializeExtensions } from '../extensions.js';
import type { Extension, ServerHello } from './types.js';

export function isHelloRetryRequestRandom(random: Uint8Array): boolean {
  if (random.length !== HELLO_RETRY_REQUEST_RANDOM.length) return false;
  for (let i = 0; i < random.length; i++) if (random[i] !== HELLO_RETRY_REQUEST_RANDOM[i]) return false;
  return true;
}

export function parseServerHelloBody(r: Reader): ServerHello {
  // struct { ProtocolVersion legacy_version = 0x0303; Random random; opaque legacy_session_id_echo<0..32>;
  //          CipherSuite cipher_suite; uint8 legacy_compression_method = 0;
  //          Extension extensions<6..2^16-1>; } ServerHello;
  const legacyVersion = r.u16('legacy_version');
  const random = r.bytesN(32, 'random').slice();
  const sid = r.vec8('legacy_session_id_echo');
  if (sid.length > 32) throw new DecodeError(`legacy_session_id_echo of ${sid.length} bytes > 32`);
  const cipherSuite = r.u16('cipher_suite');
  const legacyCompressionMethod = r.u8('legacy_compression_method');
  // RFC 8446 §4.1.3: legacy_compression_method "Single byte which MUST have the value 0."
  if (legacyCompressionMethod !== 0) throw new IllegalParameterError(`legacy_compression_method ${legacyCompressionMethod}`);
  // RFC 8446 §4.1.3: "Upon receiving a message with type server_hello, implementations MUST first
  // examine the Random value and, if it matches this value, process it as described in Section 4.1.4."
  const isHelloRetryRequest = isHelloRetryRequestRandom(random);
  let extensions: Extension[] = [];
  if (!r.atEnd()) {
    const raw = readRawExtensions(r);
    // A TLS 1.2 (or older) ServerHello carries no supported_versions: keep its extensions raw (TLS 1.2
    // puts server_name/ALPN there) so the client fails with protocol_version (RFC 8446 §4.2.1), not
    // with an illegal_parameter about an extension's context.
    const isTls13 = raw.some((e) => e.code === ExtensionType.supported_versions);
    extensions = isTls13
      ? decodeExtensions(raw, isHelloRetryRequest ? 'hello_retry_request' : 'server_hello')
      : raw.map((e) => ({ type: 'raw' as const, code: e.code, data: e.data.slice() }));
  }
  r.expectEnd('ServerHello');
  return {
    type: 'server_hello',
    legacyVersion,
    random,
    legacySessionIdEcho: sid.slice(),
    cipherSuite,
    legacyCompressionMethod,
    extensions,
    isHelloRetryRequest,
  };
}

export function writeServerHelloBody(w: Writer, sh: ServerHello): void {
  if (sh.random.length !== 32) throw new RangeError('ServerHello.random must be 32 bytes');
  if (sh.isHelloRetryRequest !== isHelloRetryRequestRandom(sh.random)) {
    throw new RangeError('ServerHello.isHelloRetryRequest disagrees with its random');
  }
  w.u16(sh.legacyVersion);
  w.bytes(sh.random);
  w.opaque8(sh.legacySessionIdEcho);
  w.u16(sh.cipherSuite);
  w.u8(sh.legacyCompressionMethod);
  serializeExtensions(w, sh.extensions, sh.isHelloRetryRequest ? 'hello_retry_request' : 'server_hello');
}
