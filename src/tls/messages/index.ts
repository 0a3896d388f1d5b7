// Handshake message codec entry points (RFC 8446 §4): parse a body by msg_type into a typed record
// (never throws), serialize a record with its 4-byte header, reassemble messages from records.

import { DecodeError, Reader, Writer } from '../codec.js';
import { HandshakeType } from '../constants.js';
import { IllegalParameterError } from '../extensions.js';
import { parseCertificateRequestBody, writeCertificateRequestBody } from './certificate-request.js';
import { parseCertificateVerifyBody, writeCertificateVerifyBody } from './certificate-verify.js';
import { parseCertificateBody, writeCertificateBody } from './certificate.js';
import { parseClientHelloBody, writeClientHelloBody } from './client-hello.js';
import { parseEncryptedExtensionsBody, writeEncryptedExtensionsBody } from './encrypted-extensions.js';
import { parseEndOfEarlyDataBody } from './end-of-early-data.js';
import { parseFinishedBody, writeFinishedBody } from './finished.js';
import { parseKeyUpdateBody, writeKeyUpdateBody } from './key-update.js';
import { parseNewSessionTicketBody, writeNewSessionTicketBody } from './new-session-ticket.js';
import { parseServerHelloBody, writeServerHelloBody } from './server-hello.js';
import type { HandshakeMessage, MessageError } from './types.js';

export type * from './types.js';
export { serializeClientHelloWithBinders, bindersListLength } from './client-hello.js';
export { isHelloRetryRequestRandom } from './server-hello.js';
export { HandshakeReassembler, MAX_HANDSHAKE_MESSAGE, type ReassembledMessage } from './reassembler.js';
export { describeHandshake, describeExtension } from './describe.js';

export type ParsedMessage = { ok: true; value: HandshakeMessage } | { ok: false; error: MessageError };

/**
 * Decodes one handshake message body (no header) of type `msgType`. Strict: every vector length is
 * checked and trailing bytes are a decode_error; impossible values are illegal_parameter; a type that
 * is not a TLS 1.3 handshake message is unexpected_message. `opts.hashLen` fixes Finished's length.
 */
export function parseHandshakeBody(msgType: number, body: Uint8Array, opts: { hashLen?: number } = {}): ParsedMessage {
  try {
    const r = new Reader(body);
    let value: HandshakeMessage;
    switch (msgType) {
      case HandshakeType.client_hello:
        value = parseClientHelloBody(r, body.length);
        break;
      case HandshakeType.server_hello:
        value = parseServerHelloBody(r);
        break;
      case HandshakeType.new_session_ticket:
        value = parseNewSessionTicketBody(r);
        break;
      case HandshakeType.end_of_early_data:
        value = parseEndOfEarlyDataBody(r);
        break;
      case HandshakeType.encrypted_extensions:
        value = parseEncryptedExtensionsBody(r);
        break;
      case HandshakeType.certificate:
        value = parseCertificateBody(r);
        break;
      case HandshakeType.certificate_request:
        value = parseCertificateRequestBody(r);
        break;
      case HandshakeType.certificate_verify:
        value = parseCertificateVerifyBody(r);
        break;
      case HandshakeType.finished:
        value = parseFinishedBody(r, opts.hashLen);
        break;
      case HandshakeType.key_update:
        value = parseKeyUpdateBody(r);
        break;
      default:
        // RFC 8446 §4: unknown types, TLS 1.2-only types, and message_hash (never sent) are unexpected.
        return { ok: false, error: { alert: 'unexpected_message', reason: `handshake type ${msgType} is not a TLS 1.3 message` } };
    }
    return { ok: true, value };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: { alert: 'decode_error', reason: e.reason } };
    if (e instanceof IllegalParameterError) return { ok: false, error: { alert: 'illegal_parameter', reason: e.reason } };
    throw e;
  }
}

/** The wire msg_type of a message. */
export function handshakeType(msg: HandshakeMessage): HandshakeType {
  switch (msg.type) {
    case 'client_hello':
      return HandshakeType.client_hello;
    case 'server_hello':
      return HandshakeType.server_hello;
    case 'encrypted_extensions':
      return HandshakeType.encrypted_extensions;
    case 'certificate':
      return HandshakeType.certificate;
    case 'certificate_request':
      return HandshakeType.certificate_request;
    case 'certificate_verify':
      return HandshakeType.certificate_verify;
    case 'finished':
      return HandshakeType.finished;
    case 'new_session_ticket':
      return HandshakeType.new_session_ticket;
    case 'end_of_early_data':
      return HandshakeType.end_of_early_data;
    case 'key_update':
      return HandshakeType.key_update;
  }
}

/**
 * RFC 8446 §4: struct { HandshakeType msg_type; uint24 length; <body> } Handshake — the whole message,
 * header included (what goes into records and the transcript). Throws RangeError on local misuse
 * (e.g. a 31-byte random, a typed extension form in the wrong message).
 */
export function serializeHandshake(msg: HandshakeMessage): Uint8Array {
  const w = new Writer(msg.type === 'certificate' ? 4096 : 256);
  w.u8(handshakeType(msg));
  w.vec24(() => {
    switch (msg.type) {
      case 'client_hello':
        return writeClientHelloBody(w, msg);
      case 'server_hello':
        return writeServerHelloBody(w, msg);
      case 'encrypted_extensions':
        return writeEncryptedExtensionsBody(w, msg);
      case 'certificate':
        return writeCertificateBody(w, msg);
      case 'certificate_request':
        return writeCertificateRequestBody(w, msg);
      case 'certificate_verify':
        return writeCertificateVerifyBody(w, msg);
      case 'finished':
        return writeFinishedBody(w, msg);
      case 'new_session_ticket':
        return writeNewSessionTicketBody(w, msg);
      case 'end_of_early_data':
        return;
      case 'key_update':
        return writeKeyUpdateBody(w, msg);
    }
  });
  return w.finish();
}
