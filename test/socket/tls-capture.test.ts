// PcapTap and TLS secrets: a Decryption Secrets Block written while the stack processes an inbound
// batch lands before that batch (the TLS client's case), and the batch still precedes any reply;
// plus the key log line format and the SSLKEYLOGFILE appender.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcapng } from '../../src/capture/pcapng-reader.js';
import type { BatchReceiver, Link } from '../../src/link/link.js';
import { PcapTap, memorySink } from '../../src/link/pcap-tap.js';
import { KeyLogFile, keyLogFromEnv, keyLogLine } from '../../src/socket/keylog.js';
import * as tunstack from '../../src/index.js';

class FakeLink implements Link {
  readonly name = 'fake0';
  readonly mtu = 1500;
  receiver: BatchReceiver | undefined;
  setReceiver(r: BatchReceiver): void {
    this.receiver = r;
  }
  send(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunstack-keylog-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function kinds(bytes: Uint8Array): string[] {
  const f = readPcapng(bytes);
  if (!f.ok) throw new Error(f.error);
  return f.value.blocks.map((b) => (b.kind === 'epb' ? `epb ${b.direction} ${b.data[1]}` : b.kind));
}

describe('PcapTap with TLS secrets', () => {
  it('writes_secrets_added_while_a_batch_is_processed_before_that_batch_and_the_batch_before_the_reply', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 5n });
    tap.setReceiver(() => {
      tap.addSecrets('CLIENT_HANDSHAKE_TRAFFIC_SECRET 00 11\n');
      tap.send([Uint8Array.of(0x45, 3)]);
      tap.addSecrets('CLIENT_TRAFFIC_SECRET_0 00 22\n');
    });
    link.receiver!([Uint8Array.of(0x45, 1), Uint8Array.of(0x45, 2)]);
    expect(kinds(sink.bytes())).toEqual(['shb', 'idb', 'dsb', 'epb inbound 1', 'epb inbound 2', 'epb outbound 3', 'dsb']);
    expect(tap.packetsCaptured).toBe(3);
  });

  it('writes_a_batch_whose_processing_sent_nothing_when_the_stack_is_done_with_it', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 5n });
    let seenDuring = 0;
    tap.setReceiver(() => (seenDuring = tap.packetsCaptured));
    link.receiver!([Uint8Array.of(0x45, 7)]);
    expect(seenDuring).toBe(0);
    expect(kinds(sink.bytes())).toEqual(['shb', 'idb', 'epb inbound 7']);
  });

  it('still_writes_the_batch_when_the_receiver_throws', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 5n });
    tap.setReceiver(() => {
      throw new Error('boom');
    });
    expect(() => link.receiver!([Uint8Array.of(0x45, 9)])).toThrow('boom');
    expect(kinds(sink.bytes())).toEqual(['shb', 'idb', 'epb inbound 9']);
  });
});

describe('key log', () => {
  it('formats_nss_key_log_lines', () => {
    expect(keyLogLine('SERVER_TRAFFIC_SECRET_0', new Uint8Array(32).fill(0xab), Uint8Array.of(1, 2, 0xff))).toBe(
      `SERVER_TRAFFIC_SECRET_0 ${'ab'.repeat(32)} 0102ff\n`,
    );
  });

  it('appends_to_the_file_with_mode_0600_and_reports_an_unwritable_path_once', () => {
    const file = path.join(tmp, 'keys.log');
    const log = new KeyLogFile(file);
    log.append('A 00 11\n');
    log.append('B 00 22\n');
    log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('A 00 11\nB 00 22\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const errors: string[] = [];
    const bad = new KeyLogFile(path.join(tmp, 'missing-dir', 'k.log'), (e) => errors.push(e.message));
    bad.append('x\n');
    bad.append('y\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cannot write key log .*missing-dir/);
  });

  it('follows_SSLKEYLOGFILE_only_when_set', () => {
    expect(keyLogFromEnv({})).toBeUndefined();
    expect(keyLogFromEnv({ SSLKEYLOGFILE: '' })).toBeUndefined();
    const a = keyLogFromEnv({ SSLKEYLOGFILE: path.join(tmp, 'env.log') });
    expect(a).toBeInstanceOf(KeyLogFile);
    expect(keyLogFromEnv({ SSLKEYLOGFILE: path.join(tmp, 'env.log') })).toBe(a);
  });

  it('the_library_entry_point_exports_the_tls_socket_api', () => {
    for (const name of ['TlsSocket', 'TlsServer', 'createTlsServer', 'tlsConnect', 'tlsClientSocket', 'certifiedKeyFromPem', 'KeyLogFile']) {
      expect(typeof (tunstack as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
