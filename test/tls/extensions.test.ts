// Extension codec (src/tls/extensions.ts): per-context decoding, strict lengths, duplicates, context
// rules of RFC 8446 §4.2, and round trips of every typed form.

import { describe, expect, it } from 'vitest';
import { DecodeError, Reader, Writer } from '../../src/tls/codec.js';
import { ExtensionType as E, NamedGroup, TLS13 } from '../../src/tls/constants.js';
import {
  IllegalParameterError,
  extensionName,
  findExtension,
  hasExtensionCode,
  parseExtensions,
  serializeExtensions,
} from '../../src/tls/extensions.js';
import type { Extension, ExtensionContext } from '../../src/tls/messages/types.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const u16 = (v: number): string => v.toString(16).padStart(4, '0');

/** One extension on the wire: type, u16 length, data (hex). */
const ext = (code: number, data: string): string => u16(code) + u16(data.replace(/\s+/g, '').length / 2) + data.replace(/\s+/g, '');
/** An extension block: u16 length then the entries. */
const block = (...exts: string[]): Uint8Array => {
  const body = exts.join('');
  return hex(u16(body.length / 2) + body);
};

type Outcome = { ok: true; value: Extension[] } | { ok: false; alert: 'decode_error' | 'illegal_parameter'; reason: string };

function parse(bytes: Uint8Array, ctx: ExtensionContext): Outcome {
  try {
    const r = new Reader(bytes);
    const value = parseExtensions(r, ctx);
    r.expectEnd('block');
    return { ok: true, value };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, alert: 'decode_error', reason: e.reason };
    if (e instanceof IllegalParameterError) return { ok: false, alert: 'illegal_parameter', reason: e.reason };
    throw e;
  }
}

function parseOk(bytes: Uint8Array, ctx: ExtensionContext): Extension[] {
  const p = parse(bytes, ctx);
  if (!p.ok) throw new Error(`expected success, got ${p.alert}: ${p.reason}`);
  return p.value;
}

function expectAlert(bytes: Uint8Array, ctx: ExtensionContext, alert: 'decode_error' | 'illegal_parameter'): void {
  const p = parse(bytes, ctx);
  expect(p.ok ? 'ok' : p.alert).toBe(alert);
}

function serialize(exts: Extension[], ctx: ExtensionContext): Uint8Array {
  const w = new Writer();
  serializeExtensions(w, exts, ctx);
  return w.finish();
}

function expectRoundTrip(bytes: Uint8Array, ctx: ExtensionContext): Extension[] {
  const exts = parseOk(bytes, ctx);
  expect(Buffer.from(serialize(exts, ctx)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return exts;
}

const X25519_SHARE = '001d 0020' + '11'.repeat(32);
const binder32 = '20' + 'ab'.repeat(32);
const identity = '0004 01020304 00000010'; // identity "01020304", obfuscated_ticket_age 16

describe('extension blocks', () => {
  it('decodes an empty block to an empty list', () => {
    expect(parseOk(hex('0000'), 'encrypted_extensions')).toEqual([]);
  });

  it('rejects a block whose length overruns the message (decode_error)', () => {
    expectAlert(hex('0005 000a 0002'), 'encrypted_extensions', 'decode_error');
  });

  it('rejects an extension whose data length overruns the block (decode_error)', () => {
    expectAlert(hex('0004 002b 0003'), 'client_hello', 'decode_error');
  });

  it('rejects a dangling byte inside the block (decode_error)', () => {
    expectAlert(hex('0005 0017 0000 00'), 'client_hello', 'decode_error');
  });

  it('rejects two extensions of the same type (illegal_parameter, RFC 8446 §4.2)', () => {
    expectAlert(block(ext(E.supported_groups, '0002 001d'), ext(E.supported_groups, '0002 0017')), 'client_hello', 'illegal_parameter');
    expectAlert(block(ext(0x1234, ''), ext(0x1234, '')), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.status_request, ''), ext(E.status_request, '')), 'certificate', 'illegal_parameter');
  });

  it('keeps unknown extensions (GREASE, TLS 1.2 leftovers) raw and in order', () => {
    const exts = expectRoundTrip(block(ext(0x0a0a, ''), ext(E.renegotiation_info, '00'), ext(E.supported_groups, '0002 001d'), ext(0xfafa, '00')), 'client_hello');
    expect(exts.map((e) => e.type)).toEqual(['raw', 'raw', 'supported_groups', 'raw']);
    expect(exts[1]).toEqual({ type: 'raw', code: 0xff01, data: hex('00') });
  });

  it('rejects a recognised extension outside the messages RFC 8446 §4.2 allows (illegal_parameter)', () => {
    expectAlert(block(ext(E.key_share, X25519_SHARE)), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.supported_groups, '0002 001d')), 'server_hello', 'illegal_parameter');
    expectAlert(block(ext(E.server_name, '')), 'server_hello', 'illegal_parameter');
    expectAlert(block(ext(E.signature_algorithms, '0002 0804')), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.psk_key_exchange_modes, '01 01')), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.cookie, '0001 00')), 'server_hello', 'illegal_parameter');
    expectAlert(block(ext(E.padding, '0000')), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.oid_filters, '0000')), 'client_hello', 'illegal_parameter');
    expectAlert(block(ext(E.early_data, '')), 'certificate', 'illegal_parameter');
    expectAlert(block(ext(E.supported_groups, '0002 001d')), 'new_session_ticket', 'illegal_parameter');
  });

  it('accepts the certificate-entry extensions status_request and signed_certificate_timestamp', () => {
    const exts = expectRoundTrip(block(ext(E.status_request, '01 000003 aabbcc'), ext(E.signed_certificate_timestamp, '0000')), 'certificate');
    expect(exts.map((e) => (e.type === 'raw' ? e.code : -1))).toEqual([5, 18]);
  });
});

describe('supported_versions', () => {
  it('decodes the client list and the server selection', () => {
    expect(expectRoundTrip(block(ext(E.supported_versions, '04 0304 0303')), 'client_hello')).toEqual([{ type: 'supported_versions_client', versions: [TLS13, 0x0303] }]);
    expect(expectRoundTrip(block(ext(E.supported_versions, '0304')), 'server_hello')).toEqual([{ type: 'supported_versions_server', version: TLS13 }]);
    expect(expectRoundTrip(block(ext(E.supported_versions, '0304')), 'hello_retry_request')).toEqual([{ type: 'supported_versions_server', version: TLS13 }]);
  });

  it('rejects an empty or odd client list and a short or long server value (decode_error)', () => {
    expectAlert(block(ext(E.supported_versions, '00')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.supported_versions, '03 0304 03')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.supported_versions, '01 03')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.supported_versions, '03')), 'server_hello', 'decode_error');
    expectAlert(block(ext(E.supported_versions, '0304 00')), 'server_hello', 'decode_error');
  });
});

describe('key_share', () => {
  it('decodes client shares, the server share and the HelloRetryRequest group', () => {
    const ch = expectRoundTrip(block(ext(E.key_share, '0049' + X25519_SHARE + '0017 0021' + '04'.repeat(33))), 'client_hello');
    const ks = findExtension(ch, 'key_share_client');
    expect(ks?.shares.map((s) => s.group)).toEqual([NamedGroup.x25519, NamedGroup.secp256r1]);
    expect(ks?.shares[0]?.keyExchange).toEqual(hex('11'.repeat(32)));
    expect(findExtension(expectRoundTrip(block(ext(E.key_share, X25519_SHARE)), 'server_hello'), 'key_share_server')?.share.group).toBe(NamedGroup.x25519);
    expect(expectRoundTrip(block(ext(E.key_share, '0018')), 'hello_retry_request')).toEqual([{ type: 'key_share_hrr', group: NamedGroup.secp384r1 }]);
  });

  it('accepts an empty client_shares list (the client asks for a HelloRetryRequest)', () => {
    expect(expectRoundTrip(block(ext(E.key_share, '0000')), 'client_hello')).toEqual([{ type: 'key_share_client', shares: [] }]);
  });

  it('rejects two client shares for one group (illegal_parameter, RFC 8446 §4.2.8)', () => {
    expectAlert(block(ext(E.key_share, '0048' + X25519_SHARE + X25519_SHARE)), 'client_hello', 'illegal_parameter');
  });

  it('rejects an empty key_exchange and a share cut short (decode_error)', () => {
    expectAlert(block(ext(E.key_share, '0004 001d 0000')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.key_share, '001d 0000')), 'server_hello', 'decode_error');
    expectAlert(block(ext(E.key_share, '0024 001d 0020' + '11'.repeat(31))), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.key_share, '00')), 'hello_retry_request', 'decode_error');
    expectAlert(block(ext(E.key_share, '0018 00')), 'hello_retry_request', 'decode_error');
  });
});

describe('pre_shared_key', () => {
  const offered = (ids: string, binders: string): string => ext(E.pre_shared_key, u16(hex(ids).length) + ids + u16(hex(binders).length) + binders);

  it('decodes identities and binders in the ClientHello and the selected index in the ServerHello', () => {
    const exts = expectRoundTrip(block(offered(identity, binder32)), 'client_hello');
    expect(exts).toEqual([{ type: 'pre_shared_key_client', identities: [{ identity: hex('01020304'), obfuscatedTicketAge: 16 }], binders: [hex('ab'.repeat(32))] }]);
    expect(expectRoundTrip(block(ext(E.pre_shared_key, '0001')), 'server_hello')).toEqual([{ type: 'pre_shared_key_server', selectedIdentity: 1 }]);
  });

  it('requires pre_shared_key to be the last ClientHello extension (illegal_parameter, RFC 8446 §4.2.11)', () => {
    expectAlert(block(offered(identity, binder32), ext(E.supported_groups, '0002 001d')), 'client_hello', 'illegal_parameter');
    expect(parseOk(block(ext(E.pre_shared_key, '0000'), ext(E.supported_versions, '0304')), 'server_hello')).toHaveLength(2);
  });

  it('rejects identity and binder counts that differ (illegal_parameter)', () => {
    expectAlert(block(offered(identity + identity, binder32)), 'client_hello', 'illegal_parameter');
    expectAlert(block(offered(identity, binder32 + binder32)), 'client_hello', 'illegal_parameter');
  });

  it('rejects empty lists, empty identities and binders under 32 bytes (decode_error)', () => {
    expectAlert(block(offered('', binder32)), 'client_hello', 'decode_error');
    expectAlert(block(offered(identity, '')), 'client_hello', 'decode_error');
    expectAlert(block(offered('0000 00000010', binder32)), 'client_hello', 'decode_error');
    expectAlert(block(offered(identity, '1f' + 'ab'.repeat(31) + '01ab')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.pre_shared_key, '00')), 'server_hello', 'decode_error');
  });
});

describe('server_name (RFC 6066 §3)', () => {
  it('decodes one host_name in the ClientHello and the empty acknowledgement in EncryptedExtensions', () => {
    expect(expectRoundTrip(block(ext(E.server_name, '000e 00 000b 6578616d706c652e636f6d')), 'client_hello')).toEqual([{ type: 'server_name', hostName: 'example.com' }]);
    expect(expectRoundTrip(block(ext(E.server_name, '')), 'encrypted_extensions')).toEqual([{ type: 'server_name', hostName: undefined }]);
  });

  it('rejects an empty list, two names, another name_type and an empty name (decode_error)', () => {
    expectAlert(block(ext(E.server_name, '0000')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.server_name, '')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.server_name, '0008 00 0001 61 00 0001 62')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.server_name, '0004 01 0001 61')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.server_name, '0003 00 0000')), 'client_hello', 'decode_error');
  });

  it('rejects a host name with NUL, spaces or non-ASCII bytes (illegal_parameter)', () => {
    expectAlert(block(ext(E.server_name, '0006 00 0003 610062')), 'client_hello', 'illegal_parameter');
    expectAlert(block(ext(E.server_name, '0006 00 0003 612062')), 'client_hello', 'illegal_parameter');
    expectAlert(block(ext(E.server_name, '0006 00 0003 61c3a9')), 'client_hello', 'illegal_parameter');
  });

  it('rejects a non-empty server_name in EncryptedExtensions (decode_error)', () => {
    expectAlert(block(ext(E.server_name, '0004 00 0001 61')), 'encrypted_extensions', 'decode_error');
  });
});

describe('ALPN (RFC 7301 §3.1)', () => {
  it('decodes the client list and the single server choice, byte strings kept exactly', () => {
    expect(expectRoundTrip(block(ext(E.application_layer_protocol_negotiation, '000c 02 6832 08 687474702f312e31')), 'client_hello')).toEqual([{ type: 'alpn', protocols: ['h2', 'http/1.1'] }]);
    expect(expectRoundTrip(block(ext(E.application_layer_protocol_negotiation, '0003 02 6832')), 'encrypted_extensions')).toEqual([{ type: 'alpn', protocols: ['h2'] }]);
    const grease = expectRoundTrip(block(ext(E.application_layer_protocol_negotiation, '0003 02 ff00')), 'client_hello');
    expect(findExtension(grease, 'alpn')?.protocols).toEqual(['\u00ff\u0000']);
  });

  it('rejects an empty list, an empty name and a server list of two (decode_error)', () => {
    expectAlert(block(ext(E.application_layer_protocol_negotiation, '0000')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.application_layer_protocol_negotiation, '0004 02 6832 00')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.application_layer_protocol_negotiation, '000c 02 6832 08 687474702f312e31')), 'encrypted_extensions', 'decode_error');
  });
});

describe('record_size_limit (RFC 8449 §4)', () => {
  it('accepts 64 and above (up to 2^14+1 and beyond: the state machine clamps)', () => {
    expect(expectRoundTrip(block(ext(E.record_size_limit, '0040')), 'encrypted_extensions')).toEqual([{ type: 'record_size_limit', limit: 64 }]);
    expect(expectRoundTrip(block(ext(E.record_size_limit, 'ffff')), 'client_hello')).toEqual([{ type: 'record_size_limit', limit: 0xffff }]);
  });

  it('rejects a limit under 64 (illegal_parameter) and a wrong length (decode_error)', () => {
    expectAlert(block(ext(E.record_size_limit, '003f')), 'encrypted_extensions', 'illegal_parameter');
    expectAlert(block(ext(E.record_size_limit, '4001 00')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.record_size_limit, '40')), 'client_hello', 'decode_error');
  });
});

describe('list extensions', () => {
  it('decode groups, signature schemes, PSK modes and cookies', () => {
    const exts = expectRoundTrip(
      block(
        ext(E.supported_groups, '0004 001d 0017'),
        ext(E.signature_algorithms, '0004 0804 0403'),
        ext(E.signature_algorithms_cert, '0002 0807'),
        ext(E.psk_key_exchange_modes, '01 01'),
        ext(E.cookie, '0003 aabbcc'),
      ),
      'client_hello',
    );
    expect(findExtension(exts, 'supported_groups')?.groups).toEqual([0x1d, 0x17]);
    expect(findExtension(exts, 'signature_algorithms')?.schemes).toEqual([0x0804, 0x0403]);
    expect(findExtension(exts, 'signature_algorithms_cert')?.schemes).toEqual([0x0807]);
    expect(findExtension(exts, 'psk_key_exchange_modes')?.modes).toEqual([1]);
    expect(findExtension(exts, 'cookie')?.cookie).toEqual(hex('aabbcc'));
  });

  it('rejects empty or odd-length lists and empty cookies (decode_error)', () => {
    expectAlert(block(ext(E.supported_groups, '0000')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.supported_groups, '0003 001d00')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.signature_algorithms, '0000')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.signature_algorithms_cert, '0001 08')), 'certificate_request', 'decode_error');
    expectAlert(block(ext(E.psk_key_exchange_modes, '00')), 'client_hello', 'decode_error');
    expectAlert(block(ext(E.cookie, '0000')), 'hello_retry_request', 'decode_error');
    expectAlert(block(ext(E.supported_groups, '0002 001d 00')), 'client_hello', 'decode_error');
  });
});

describe('early_data (RFC 8446 §4.2.10)', () => {
  it('is empty in ClientHello/EncryptedExtensions and a u32 in NewSessionTicket', () => {
    expect(expectRoundTrip(block(ext(E.early_data, '')), 'client_hello')).toEqual([{ type: 'early_data', maxEarlyDataSize: undefined }]);
    expect(expectRoundTrip(block(ext(E.early_data, '00004000')), 'new_session_ticket')).toEqual([{ type: 'early_data', maxEarlyDataSize: 16384 }]);
  });

  it('rejects data where none belongs and a short u32 (decode_error)', () => {
    expectAlert(block(ext(E.early_data, '00')), 'encrypted_extensions', 'decode_error');
    expectAlert(block(ext(E.early_data, '000040')), 'new_session_ticket', 'decode_error');
    expectAlert(block(ext(E.early_data, '')), 'new_session_ticket', 'decode_error');
  });
});

describe('serializeExtensions', () => {
  it('refuses a typed form in a message where the parser would never produce it', () => {
    expect(() => serialize([{ type: 'key_share_client', shares: [] }], 'server_hello')).toThrow(RangeError);
    expect(() => serialize([{ type: 'key_share_hrr', group: 0x17 }], 'server_hello')).toThrow(RangeError);
    expect(() => serialize([{ type: 'supported_versions_server', version: TLS13 }], 'client_hello')).toThrow(RangeError);
    expect(() => serialize([{ type: 'server_name', hostName: 'a' }], 'encrypted_extensions')).toThrow(RangeError);
    expect(() => serialize([{ type: 'server_name', hostName: undefined }], 'client_hello')).toThrow(RangeError);
    expect(() => serialize([{ type: 'early_data', maxEarlyDataSize: 1 }], 'encrypted_extensions')).toThrow(RangeError);
  });

  it('refuses host names and ALPN names it could not write faithfully', () => {
    expect(() => serialize([{ type: 'server_name', hostName: 'bad name' }], 'client_hello')).toThrow(RangeError);
    expect(() => serialize([{ type: 'alpn', protocols: ['h\u0100'] }], 'client_hello')).toThrow(RangeError);
  });

  it('writes raw extensions verbatim, duplicates included (for building bad input)', () => {
    expect(serialize([{ type: 'raw', code: 0x2b, data: hex('0304') }, { type: 'raw', code: 0x2b, data: hex('') }], 'server_hello')).toEqual(hex('000a 002b 0002 0304 002b 0000'));
  });
});

describe('lookup helpers', () => {
  const exts: Extension[] = [
    { type: 'raw', code: 0xff01, data: hex('00') },
    { type: 'alpn', protocols: ['h2'] },
  ];

  it('findExtension returns the typed entry or undefined', () => {
    const alpn = findExtension(exts, 'alpn');
    expect(alpn?.protocols).toEqual(['h2']);
    expect(findExtension(exts, 'cookie')).toBeUndefined();
  });

  it('hasExtensionCode sees typed and raw entries by code point', () => {
    expect(hasExtensionCode(exts, E.application_layer_protocol_negotiation)).toBe(true);
    expect(hasExtensionCode(exts, E.renegotiation_info)).toBe(true);
    expect(hasExtensionCode(exts, E.key_share)).toBe(false);
  });

  it('extensionName names known code points and prints others in hex', () => {
    expect(extensionName(51)).toBe('key_share');
    expect(extensionName(0x0a0a)).toBe('0x0a0a');
  });
});
