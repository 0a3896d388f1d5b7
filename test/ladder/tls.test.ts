// TLS in the ladder: a real TLS 1.3 conversation between tunstack's client and server engines (in
// process, no I/O) laid into TCP segments — records split across segments and several per segment —
// named message by message when the capture's DSB holds the key log (handshake, NewSessionTicket,
// HTTP inside application data, KeyUpdate both ways, close_notify), and by position without it.

import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import type { Connection } from '../../src/ladder/model.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { Conversation, pcapng, TCP_ACK, TCP_PSH, text } from './build.js';
import { capture, https } from './tls-fixture.js';

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
