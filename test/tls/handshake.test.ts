// The TLS 1.3 client and server engines against each other, in process: every suite and group,
// each certificate key type, HelloRetryRequest, PSK resumption, KeyUpdate, close_notify, and the
// alert each kind of damage draws.

import { describe, expect, it } from 'vitest';
import { CipherSuite, NamedGroup, SignatureScheme } from '../../src/tls/constants.js';
import type { ResumptionTicket } from '../../src/tls/engine-api.js';
import { NOW0, certified, eventsOf, pair } from './engine-pair.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { RecordProtection, RecordReader, isRecordError } from '../../src/tls/record.js';
import { parseHandshakeBody, serializeHandshake } from '../../src/tls/messages/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function traces(events: ReturnType<typeof pair>['client']['events'], dir: 'in' | 'out'): string[] {
  return events.flatMap((e) => (e.type === 'trace' && e.trace.direction === dir ? [e.trace.message] : []));
}

describe('full handshakes', () => {
  const suites = [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384, CipherSuite.TLS_CHACHA20_POLY1305_SHA256];
  const groups = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1];
  for (const suite of suites) {
    for (const group of groups) {
      it(`completes_with_suite_${suite.toString(16)}_group_${group.toString(16)}_and_carries_data_both_ways`, () => {
        const p = pair({}, { cipherSuites: [suite], groups: [group] });
        p.client.conn.write(enc('GET / HTTP/1.1\r\n\r\n'));
        p.pump();
        p.server.conn.write(enc('HTTP/1.1 200 OK\r\n\r\n'));
        p.pump();
        expect(p.client.conn.handshakeDone).toBe(true);
        expect(p.server.conn.handshakeDone).toBe(true);
        expect(dec(p.server.data())).toBe('GET / HTTP/1.1\r\n\r\n');
        expect(dec(p.client.data())).toBe('HTTP/1.1 200 OK\r\n\r\n');
        const summary = eventsOf(p.client, 'handshake')[0]!.summary;
        expect(summary).toMatchObject({ suite, group, resumed: false, helloRetry: false, alpn: 'http/1.1' });
        expect(summary.signatureScheme).toBe(SignatureScheme.ecdsa_secp256r1_sha256);
      });
    }
  }

  for (const kind of ['ecdsa-p384', 'ed25519', 'rsa-2048'] as const) {
    it(`authenticates_with_a_${kind}_certificate`, () => {
      const p = pair({ certificates: [certified(kind)] });
      p.pump();
      expect(p.client.conn.handshakeDone).toBe(true);
      const expected = { 'ecdsa-p384': 0x0503, ed25519: 0x0807, 'rsa-2048': 0x0804 }[kind];
      expect(eventsOf(p.client, 'handshake')[0]!.summary.signatureScheme).toBe(expected);
    });
  }

  it('emits_identical_key_log_secrets_on_both_sides_before_protected_output', () => {
    const p = pair();
    p.pump();
    const labels = (s: typeof p.client) => eventsOf(s, 'secret').map((e) => `${e.label} ${Buffer.from(e.secret).toString('hex')}`);
    expect(labels(p.client)).toEqual(labels(p.server));
    expect(eventsOf(p.server, 'secret').map((e) => e.label)).toEqual([
      'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'SERVER_TRAFFIC_SECRET_0',
      'EXPORTER_SECRET',
    ]);
  });

  it('sends_middlebox_compatibility_change_cipher_spec_in_both_roles', () => {
    const p = pair();
    p.pump();
    const hasCcs = (from: 'client' | 'server') =>
      p.wire.filter((w) => w.from === from).some((w) => Buffer.from(w.bytes).includes(Buffer.from([20, 3, 3, 0, 1, 1])));
    expect(hasCcs('client')).toBe(true);
    expect(hasCcs('server')).toBe(true);
  });

  it('splits_large_writes_into_records_of_at_most_2_14_bytes_and_reassembles_them', () => {
    const p = pair();
    p.pump();
    const big = new Uint8Array(100_000).map((_, i) => i * 7);
    p.server.conn.write(big);
    p.pump();
    expect(Buffer.compare(Buffer.from(p.client.data()), Buffer.from(big))).toBe(0);
  });
});

describe('HelloRetryRequest', () => {
  it('retries_with_the_group_the_server_requires_and_completes', () => {
    const p = pair({ requireGroup: NamedGroup.secp384r1 }, { groups: [NamedGroup.x25519, NamedGroup.secp384r1] });
    p.pump();
    expect(p.client.conn.handshakeDone).toBe(true);
    const summary = eventsOf(p.client, 'handshake')[0]!.summary;
    expect(summary).toMatchObject({ group: NamedGroup.secp384r1, helloRetry: true });
    expect(traces(p.server.events, 'out')).toContain('HelloRetryRequest');
  });

  it('asks_for_a_supported_group_when_the_client_shares_none_we_use', () => {
    const p = pair({ groups: [NamedGroup.secp256r1] }, { groups: [NamedGroup.x25519, NamedGroup.secp256r1] });
    p.pump();
    expect(eventsOf(p.server, 'handshake')[0]!.summary).toMatchObject({ group: NamedGroup.secp256r1, helloRetry: true });
  });

  it('fails_with_handshake_failure_when_no_group_is_shared', () => {
    const p = pair({ groups: [NamedGroup.secp384r1] }, { groups: [NamedGroup.x25519] });
    p.pump();
    expect(eventsOf(p.server, 'failed')[0]).toMatchObject({ sent: true, alert: 40 });
    expect(eventsOf(p.client, 'failed')[0]).toMatchObject({ sent: false, alert: 40 });
  });
});

describe('resumption', () => {
  function firstTicket(): ResumptionTicket {
    const p = pair();
    p.pump();
    const tickets = eventsOf(p.client, 'ticket');
    expect(tickets.length).toBe(2);
    return tickets[0]!.ticket;
  }

  it('resumes_with_a_ticket_and_sends_no_certificate', () => {
    const ticket = firstTicket();
    const p = pair({}, { resume: ticket });
    p.pump(NOW0 + 5000);
    expect(p.client.conn.handshakeDone).toBe(true);
    expect(eventsOf(p.client, 'handshake')[0]!.summary.resumed).toBe(true);
    expect(eventsOf(p.server, 'handshake')[0]!.summary.resumed).toBe(true);
    expect(traces(p.server.events, 'out')).not.toContain('Certificate');
  });

  it('falls_back_to_a_full_handshake_when_the_ticket_is_from_another_server', () => {
    const ticket = firstTicket();
    const p = pair({ ticketKey: new Uint8Array(32).fill(9) }, { resume: ticket });
    p.pump(NOW0 + 5000);
    expect(eventsOf(p.client, 'handshake')[0]!.summary.resumed).toBe(false);
  });

  it('resumes_after_a_hello_retry_request', () => {
    const ticket = firstTicket();
    const p = pair({ requireGroup: NamedGroup.secp384r1 }, { resume: ticket, groups: [NamedGroup.x25519, NamedGroup.secp384r1] });
    p.pump(NOW0 + 5000);
    expect(eventsOf(p.client, 'handshake')[0]!.summary).toMatchObject({ resumed: true, helloRetry: true });
  });

  it('rejects_a_bad_binder_with_decrypt_error', () => {
    const ticket = firstTicket();
    const p = pair({}, { resume: { ...ticket, psk: new Uint8Array(ticket.psk.length) } });
    p.pump(NOW0 + 5000);
    expect(eventsOf(p.server, 'failed')[0]).toMatchObject({ sent: true, alert: 51 });
  });
});

describe('after the handshake', () => {
  it('updates_keys_both_ways_and_keeps_working', () => {
    const p = pair();
    p.pump();
    p.client.conn.keyUpdate(true);
    p.client.conn.write(enc('after client update'));
    p.pump();
    p.server.conn.write(enc('after server answer'));
    p.pump();
    p.server.conn.keyUpdate(false);
    p.server.conn.write(enc(' and again'));
    p.pump();
    expect(dec(p.server.data())).toBe('after client update');
    expect(dec(p.client.data())).toBe('after server answer and again');
    expect(eventsOf(p.server, 'key-update').map((e) => `${e.direction}:${e.requested}`)).toEqual([
      'received:true',
      'sent:false',
      'sent:false',
    ]);
  });

  it('reports_close_notify_and_refuses_writes_after_close', () => {
    const p = pair();
    p.pump();
    p.client.conn.write(enc('bye'));
    p.client.conn.close();
    p.pump();
    expect(dec(p.server.data())).toBe('bye');
    expect(eventsOf(p.server, 'peer-closed').length).toBe(1);
    expect(() => p.client.conn.write(enc('x'))).toThrow();
    p.server.conn.write(enc('still writable'));
    p.pump();
    expect(dec(p.client.data())).toBe('still writable');
  });
});

describe('bad input draws the right alert', () => {
  const alertOf = (s: ReturnType<typeof pair>['server']) => eventsOf(s, 'failed')[0];

  it('answers_a_truncated_client_hello_with_decode_error', () => {
    const p = pair();
    p.client.conn.start(NOW0);
    const ch = p.client.conn.pollOutput()!;
    // Shorten the handshake body but keep the lengths consistent at the record level.
    const cut = ch.slice(0, 5 + 4 + 40);
    cut[3] = 0;
    cut[4] = 44; // record length
    cut.set([0, 0, 40], 6); // handshake length: a ClientHello body of 40 bytes is cut off mid-field
    p.server.conn.handleBytes(NOW0, cut);
    p.pump();
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 50 });
  });

  it('answers_a_flipped_tag_bit_with_bad_record_mac', () => {
    const p = pair();
    let flipped = false;
    p.pump(NOW0, (from, bytes) => {
      // The client's Finished flight is its second write; flip the last byte (in the tag).
      if (from === 'client' && !flipped && p.wire.some((w) => w.from === 'server')) {
        flipped = true;
        const b = bytes.slice();
        b[b.length - 1]! ^= 1;
        return b;
      }
      return bytes;
    });
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 20 });
  });

  it('answers_a_bad_finished_with_decrypt_error', () => {
    // Decrypt the client's Finished with the client handshake secret (from its key-log events),
    // change one byte of verify_data, and re-encrypt it: the record is valid, the Finished is not.
    const p = pair();
    let done = false;
    p.pump(NOW0, (from, bytes) => {
      if (from !== 'client' || done || !p.wire.some((w) => w.from === 'server')) return bytes;
      done = true;
      const secret = eventsOf(p.client, 'secret').find((e) => e.label === 'CLIENT_HANDSHAKE_TRAFFIC_SECRET')!.secret;
      const hash = nobleProvider.hash('sha256');
      const reader = new RecordReader();
      reader.push(bytes);
      const out: Uint8Array[] = [];
      const opener = new RecordProtection(nobleProvider, CipherSuite.TLS_AES_128_GCM_SHA256, hash, secret);
      const sealer = new RecordProtection(nobleProvider, CipherSuite.TLS_AES_128_GCM_SHA256, hash, secret);
      for (let f = reader.next(); f; f = reader.next()) {
        if (isRecordError(f)) throw new Error(f.reason);
        if (f.contentType !== 23) {
          out.push(Buffer.concat([f.header, f.fragment]));
          continue;
        }
        const opened = opener.open(f);
        if (isRecordError(opened)) throw new Error(opened.reason);
        const content = opened.content.slice();
        content[content.length - 1]! ^= 0x55; // last byte of verify_data
        out.push(sealer.seal(opened.contentType, content));
      }
      return Buffer.concat(out);
    });
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 51 });
  });

  it('answers_an_oversized_record_with_record_overflow', () => {
    const p = pair();
    const rec = new Uint8Array(5 + (1 << 14) + 300);
    rec.set([22, 3, 3, ((1 << 14) + 300) >> 8, ((1 << 14) + 300) & 0xff]);
    p.server.conn.handleBytes(NOW0, rec);
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 22 });
  });

  it('answers_a_message_out_of_order_with_unexpected_message', () => {
    const p = pair();
    // A Finished (type 20) as the first handshake message.
    p.server.conn.handleBytes(NOW0, new Uint8Array([22, 3, 3, 0, 8, 20, 0, 0, 4, 1, 2, 3, 4]));
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 10 });
  });

  it('answers_a_change_cipher_spec_after_the_handshake_with_unexpected_message', () => {
    const p = pair();
    p.pump();
    p.server.conn.handleBytes(NOW0, new Uint8Array([20, 3, 3, 0, 1, 1]));
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 10 });
  });

  it('answers_a_tls12_only_client_with_protocol_version', () => {
    const p = pair();
    p.client.conn.start(NOW0);
    const ch = p.client.conn.pollOutput()!;
    // Replace supported_versions' 0x0304 by 0x0303 (search the extension bytes 00 2b 00 03 02 03 04).
    const i = Buffer.from(ch).indexOf(Buffer.from([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]));
    expect(i).toBeGreaterThan(0);
    const b = ch.slice();
    b[i + 6] = 0x03;
    p.server.conn.handleBytes(NOW0, b);
    expect(alertOf(p.server)).toMatchObject({ sent: true, alert: 70 });
  });

  it('client_rejects_a_certificate_for_another_name_with_bad_certificate', () => {
    const p = pair({}, { serverName: 'other.test' });
    p.pump();
    expect(eventsOf(p.client, 'failed')[0]).toMatchObject({ sent: true, alert: 42 });
    expect(eventsOf(p.server, 'failed')[0]).toMatchObject({ sent: false, alert: 42 });
  });

  it('never_throws_on_random_bytes_and_always_ends_in_an_alert_or_waits', () => {
    let seed = 1234567;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    for (let n = 0; n < 300; n++) {
      const p = pair();
      const len = 1 + (rnd() * 7) % 400;
      const bytes = new Uint8Array(len).map(() => rnd());
      if (n % 2 === 0) bytes.set([22, 3, 3, 0, Math.min(255, len - 5)]);
      expect(() => p.server.conn.handleBytes(NOW0, bytes)).not.toThrow();
    }
  });
});

describe('0-RTT is declined and skipped (RFC 8446 §4.2.10)', () => {
  function clientHelloWithEarlyData(): Uint8Array {
    const p = pair();
    p.client.conn.start(NOW0);
    const rec = p.client.conn.pollOutput()!;
    const parsed = parseHandshakeBody(rec[5]!, rec.subarray(9));
    if (!parsed.ok || parsed.value.type !== 'client_hello') throw new Error('no ClientHello');
    parsed.value.extensions.push({ type: 'early_data', maxEarlyDataSize: undefined });
    const hs = serializeHandshake(parsed.value);
    return Buffer.concat([Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
  }
  const junkRecord = (n: number) => Buffer.concat([Buffer.from([23, 3, 3, n >> 8, n & 0xff]), Buffer.alloc(n, 0xab)]);

  it('skips_undecryptable_early_records_and_does_not_acknowledge_early_data', () => {
    const p = pair();
    p.server.conn.handleBytes(NOW0, clientHelloWithEarlyData());
    p.server.conn.handleBytes(NOW0, junkRecord(500));
    p.server.conn.handleBytes(NOW0, junkRecord(1000));
    expect(eventsOf(p.server, 'failed')).toEqual([]);
    const ee = eventsOf(p.server, 'trace').find((e) => e.trace.message === 'EncryptedExtensions');
    expect(ee?.trace.detail ?? '').not.toContain('early_data');
  });

  it('gives_up_with_bad_record_mac_after_too_much_undecryptable_data', () => {
    const p = pair();
    p.server.conn.handleBytes(NOW0, clientHelloWithEarlyData());
    for (let i = 0; i < 8; i++) p.server.conn.handleBytes(NOW0, junkRecord(16_000));
    expect(eventsOf(p.server, 'failed')[0]).toMatchObject({ sent: true, alert: 20 });
  });
});

describe('record_size_limit (RFC 8449)', () => {
  it('keeps_every_record_the_server_sends_within_the_client_limit', () => {
    const p = pair({}, { recordSizeLimit: 1025 });
    p.pump();
    p.server.conn.write(new Uint8Array(10_000));
    p.pump();
    const fromServer = Buffer.concat(p.wire.filter((w) => w.from === 'server').map((w) => w.bytes));
    for (let i = 0; i < fromServer.length; ) {
      const len = fromServer.readUInt16BE(i + 3);
      expect(len).toBeLessThanOrEqual(1025 + 16);
      i += 5 + len;
    }
    expect(p.client.data().length).toBe(10_000);
  });
});
