// TLS in the ladder: a real TLS 1.3 conversation between tunstack's client and server engines (in
// process, no I/O) laid into TCP segments — records split across segments and several per segment —
// named message by message when the capture's DSB holds the key log (handshake, NewSessionTicket,
// HTTP inside application data, KeyUpdate both ways, close_notify), and by position without it.

import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import type { Connection } from '../../src/ladder/model.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { renderSvg } from '../../src/ladder/svg.js';
import { ContentType, NamedGroup } from '../../src/tls/constants.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { serializeHandshake } from '../../src/tls/messages/index.js';
import { changeCipherSpecRecord, plaintextRecord } from '../../src/tls/record.js';
import { mulberry32 } from '../helpers/prng.js';
import { eventsOf, NOW0, pair } from '../tls/engine-pair.js';
import { Conversation, pcapng, TCP_ACK, TCP_PSH, text } from './build.js';
import { capture, https, keyLogOf, tlsPackets } from './tls-fixture.js';
import { parseXml } from './xml.js';

function connectionOf(bytes: Uint8Array): Connection {
  const r = readCaptureFile(bytes);
  if (!r.ok) throw new Error(r.error);
  const l = buildLadder(r.value, { crypto: nobleProvider });
  expect(l.connections).toHaveLength(1);
  return l.connections[0]!;
}

/** "A ClientHello", "B Finished", "A http GET /tls HTTP/1.1" in stream order. */
function messages(c: Connection): string[] {
  return c.segments.flatMap((s) => s.notes.map((n) => `${s.from} ${n.kind === 'http' ? `http ${n.line}` : n.message}`));
}

describe('TLS 1.3 in the ladder', () => {
  const { p, keyLog } = https();

  for (const mss of [1460, 97]) {
    it(`names_every_message_decrypted_with_the_dsb_key_log_in_segments_of_${mss}_bytes`, () => {
      const c = connectionOf(capture(p, mss, keyLog));
      expect(messages(c)).toEqual([
        'A ClientHello',
        'B ServerHello',
        'B ChangeCipherSpec',
        'B EncryptedExtensions',
        'B Certificate',
        'B CertificateVerify',
        'B Finished',
        'A ChangeCipherSpec',
        'A Finished',
        // The server sends its tickets as soon as the client's Finished arrives (RFC 8446 §4.6.1), before the request.
        'B NewSessionTicket',
        'B NewSessionTicket',
        'A Application Data',
        'A http GET /tls HTTP/1.1',
        'B Application Data',
        'B http HTTP/1.1 200 OK',
        'A KeyUpdate',
        'B KeyUpdate',
        'A Application Data',
        'A http GET /after-key-update HTTP/1.1',
        'A Alert',
      ]);
      const notes = c.segments.flatMap((s) => s.notes);
      expect(notes.filter((n) => n.kind === 'tls' && n.message === 'KeyUpdate').map((n) => n.kind === 'tls' && n.detail)).toEqual(['update_requested', 'update_not_requested']);
      expect(notes.find((n) => n.kind === 'tls' && n.message === 'Alert')).toEqual({ kind: 'tls', message: 'Alert', detail: 'warning close_notify', protection: 'decrypted' });
      expect(notes.find((n) => n.kind === 'tls' && n.message === 'ServerHello')).toMatchObject({ detail: 'TLS_AES_128_GCM_SHA256 key_share=x25519', protection: 'plaintext' });
      expect(notes.find((n) => n.kind === 'tls' && n.message === 'ClientHello')).toMatchObject({ detail: 'sni=tunstack.test alpn=http/1.1 key_share=x25519 TLS 1.3 3 suites' });
      expect(c.tls).toMatchObject({ version: 'TLS 1.3', suite: 'TLS_AES_128_GCM_SHA256', serverName: 'tunstack.test', alpn: 'http/1.1', keysFound: true, opaqueRecords: 0 });
      expect(c.tls!.decryptedRecords).toBeGreaterThanOrEqual(9);
    });
  }

  it('puts_each_message_on_the_segment_that_completed_it', () => {
    const c = connectionOf(capture(p, 97, keyLog));
    const hello = c.segments.findIndex((s) => s.notes.some((n) => n.kind === 'tls' && n.message === 'ClientHello'));
    // The ClientHello is several hundred bytes: the first data segments carry none of it complete.
    expect(c.segments[3]!.notes).toEqual([]);
    expect(hello).toBeGreaterThan(4);
    expect(c.segments.slice(3, hello).every((s) => s.from === 'A' && s.len === 97)).toBe(true);
  });

  it('without_keys_names_records_by_position_encrypted_handshake_then_application_data', () => {
    const c = connectionOf(capture(p, 1460));
    const m = messages(c);
    expect(m.slice(0, 3)).toEqual(['A ClientHello', 'B ServerHello', 'B ChangeCipherSpec']);
    const rest = m.slice(3);
    const firstClient = rest.findIndex((x) => x.startsWith('A '));
    expect(rest.slice(0, firstClient).every((x) => x === 'B encrypted handshake')).toBe(true);
    expect(firstClient).toBeGreaterThan(0);
    expect(rest.slice(firstClient, firstClient + 2)).toEqual(['A ChangeCipherSpec', 'A encrypted handshake']);
    expect(rest.slice(firstClient + 2).every((x) => /^[AB] encrypted application data$/.test(x))).toBe(true);
    expect(c.tls).toMatchObject({ keysFound: false, decryptedRecords: 0 });
    expect(c.segments.flatMap((s) => s.notes).every((n) => n.kind === 'tls' && (n.protection === 'plaintext' || n.protection === 'encrypted'))).toBe(true);
  });

  it('decrypts_the_application_data_with_only_the_application_secrets_logged', () => {
    const appOnly = keyLog
      .split('\n')
      .filter((l) => /^(CLIENT|SERVER)_TRAFFIC_SECRET_0 /.test(l))
      .join('\n');
    const c = connectionOf(capture(p, 1460, appOnly));
    const m = messages(c);
    expect(m.filter((x) => x.endsWith('encrypted handshake'))).toEqual(['B encrypted handshake', 'A encrypted handshake']);
    expect(m.slice(m.indexOf('A encrypted handshake') + 1)).toEqual([
      'B NewSessionTicket',
      'B NewSessionTicket',
      'A Application Data',
      'A http GET /tls HTTP/1.1',
      'B Application Data',
      'B http HTTP/1.1 200 OK',
      'A KeyUpdate',
      'B KeyUpdate',
      'A Application Data',
      'A http GET /after-key-update HTTP/1.1',
      'A Alert',
    ]);
  });

  it('says_a_record_did_not_decrypt_when_the_logged_secret_is_wrong', () => {
    const wrong = keyLog.replace(/^(SERVER_HANDSHAKE_TRAFFIC_SECRET \S+ )(\S)/m, (_, a: string, b: string) => a + (b === '0' ? '1' : '0'));
    const c = connectionOf(capture(p, 1460, wrong));
    const bad = c.segments.flatMap((s) => s.notes).filter((n) => n.kind === 'tls' && n.message === 'encrypted record');
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]).toMatchObject({ detail: expect.stringMatching(/not decrypted: record authentication failed$/), protection: 'encrypted' });
    expect(messages(c)).toContain('A Finished'); // the client's direction still decrypts
  });

  it('marks_a_stream_that_stops_being_tls', () => {
    const conv = new Conversation().handshake();
    conv.send('A', TCP_PSH | TCP_ACK, Buffer.concat([p.wire[0]!.bytes, text('GET / HTTP/1.1\r\n\r\n')]));
    const c = connectionOf(pcapng(conv.packets));
    expect(messages(c)).toEqual(['A ClientHello', 'A not TLS']);
  });
});

describe('TLS handshakes of other shapes', () => {
  it('follows_a_hello_retry_request_and_a_resumed_session_in_one_capture', () => {
    // First connection: the server insists on P-384, so the client's x25519 share draws a HelloRetryRequest.
    const first = pair({ requireGroup: NamedGroup.secp384r1 }, { groups: [NamedGroup.x25519, NamedGroup.secp384r1] });
    first.pump();
    first.client.conn.write(text('GET /one HTTP/1.1\r\n\r\n'));
    first.pump();
    const ticket = eventsOf(first.client, 'ticket')[0]!.ticket;
    // Second connection: resumption with the ticket (RFC 8446 §2.2): no Certificate, no CertificateVerify.
    const second = pair({}, { resume: ticket });
    second.pump(NOW0 + 5000);
    second.client.conn.write(text('GET /two HTTP/1.1\r\n\r\n'));
    second.pump(NOW0 + 5000);
    const a = tlsPackets(first, 1460, new Conversation({ addr: '198.18.0.1', port: 40001, isn: 1 }, { addr: '198.18.0.2', port: 443, isn: 2 }));
    const b = tlsPackets(second, 1460, new Conversation({ addr: '198.18.0.1', port: 40002, isn: 3 }, { addr: '198.18.0.2', port: 443, isn: 4 }, a.at(-1)!.ts + 1000n));
    const r = readCaptureFile(pcapng([...a, ...b], keyLogOf(first) + keyLogOf(second)));
    if (!r.ok) throw new Error(r.error);
    const [c1, c2] = buildLadder(r.value, { crypto: nobleProvider }).connections;
    expect(messages(c1!).slice(0, 4)).toEqual(['A ClientHello', 'B HelloRetryRequest', 'B ChangeCipherSpec', 'A ChangeCipherSpec']);
    expect(messages(c1!)).toContain('A http GET /one HTTP/1.1');
    expect(c1!.tls).toMatchObject({ suite: 'TLS_AES_128_GCM_SHA256', opaqueRecords: 0 });
    const m2 = messages(c2!);
    expect(m2).toContain('A http GET /two HTTP/1.1');
    expect(m2).not.toContain('B Certificate');
    expect(c2!.segments.flatMap((s) => s.notes).find((n) => n.kind === 'tls' && n.message === 'ClientHello')).toMatchObject({ detail: expect.stringContaining('psk') });
    expect(c2!.tls).toMatchObject({ keysFound: true, opaqueRecords: 0 });
  });

  it('names_a_tls_1_2_handshake_and_leaves_its_encrypted_records_opaque', () => {
    // A TLS 1.2 ServerHello: no supported_versions extension (RFC 8446 §4.1.3 / RFC 5246 §7.4.1.3).
    const sh = serializeHandshake({ type: 'server_hello', legacyVersion: 0x0303, random: new Uint8Array(32).fill(1), legacySessionIdEcho: new Uint8Array(0), cipherSuite: 0xc02f, legacyCompressionMethod: 0, extensions: [], isHelloRetryRequest: false });
    const hello12 = Buffer.concat([sh, Uint8Array.of(14, 0, 0, 0)]); // + ServerHelloDone
    const { p } = https();
    const conv = new Conversation().handshake();
    conv.send('A', TCP_PSH | TCP_ACK, p.wire[0]!.bytes);
    conv.send('B', TCP_PSH | TCP_ACK, plaintextRecord(ContentType.handshake, hello12));
    conv.send('A', TCP_PSH | TCP_ACK, Buffer.concat([plaintextRecord(ContentType.handshake, Uint8Array.of(16, 0, 0, 2, 0, 0)), changeCipherSpecRecord(), plaintextRecord(ContentType.handshake, new Uint8Array(40))]));
    conv.send('B', TCP_PSH | TCP_ACK, Buffer.concat([changeCipherSpecRecord(), plaintextRecord(ContentType.handshake, new Uint8Array(40)), plaintextRecord(ContentType.application_data, new Uint8Array(60))]));
    const c = connectionOf(pcapng(conv.packets));
    expect(messages(c)).toEqual([
      'A ClientHello',
      'B ServerHello',
      'B ServerHelloDone',
      'A ClientKeyExchange',
      'A ChangeCipherSpec',
      'A encrypted handshake',
      'B ChangeCipherSpec',
      'B encrypted handshake',
      'B encrypted application data',
    ]);
    expect(c.tls).toMatchObject({ version: 'TLS 1.2', suite: '0xc02f' });
  });
});

describe('untrusted TLS streams', () => {
  it('never_throws_on_seeded_mutations_of_a_decryptable_capture_and_still_renders_valid_svg', () => {
    const { p, keyLog } = https();
    const packets = tlsPackets(p, 300);
    const rnd = mulberry32(0x7157);
    for (let i = 0; i < 150; i++) {
      const mutated = packets.map((x, k) => (k > 2 && rnd.int(4) === 0 ? { ...x, ip: mutatePayload(x.ip, rnd) } : x));
      const r = readCaptureFile(pcapng(mutated, keyLog));
      if (!r.ok) throw new Error(r.error);
      const l = buildLadder(r.value);
      parseXml(renderSvg(l.connections));
    }
  });
});

/** Flips a few bytes after the IPv4 and TCP headers (the checksums are not verified by the ladder). */
function mutatePayload(ip: Uint8Array, rnd: ReturnType<typeof mulberry32>): Uint8Array {
  const out = ip.slice();
  const start = 20 + ((out[32]! >>> 4) * 4);
  if (out.length <= start) return out;
  for (let n = 1 + rnd.int(3); n > 0; n--) out[start + rnd.int(out.length - start)] = rnd.int(256);
  return out;
}
