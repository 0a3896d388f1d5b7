// Real validation of our pcapng output with tshark: an ICMP echo exchange opens cleanly with the
// right directions, comment and nanosecond timestamps; the DSB reaches the TLS dissector; a capture
// whose writer never closed (a killed process) is still valid. Skipped when tshark is not installed.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeDecryptionSecrets,
  encodeEnhancedPackets,
  encodeInterfaceDescription,
  encodeSectionHeader,
} from '../../src/capture/pcapng.js';
import type { BatchReceiver, Link } from '../../src/link/link.js';
import { PcapTap, fileSink } from '../../src/link/pcap-tap.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

function tshark(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('tshark', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** tshark output lines, without the trailing empty one. */
function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

// IPv4 198.18.0.1 → 198.18.0.2, DF, TTL 64, ICMP echo request id 1 seq 1, payload "tunstack".
// Header checksum 0x9c7d and ICMP checksum 0x3d48 computed by hand (one's complement sums).
const ECHO_REQUEST = Uint8Array.of(
  0x45, 0x00, 0x00, 0x24, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x9c, 0x7d, 0xc6, 0x12, 0x00, 0x01,
  0xc6, 0x12, 0x00, 0x02, 0x08, 0x00, 0x3d, 0x48, 0x00, 0x01, 0x00, 0x01,
  0x74, 0x75, 0x6e, 0x73, 0x74, 0x61, 0x63, 0x6b,
);
// The reply 198.18.0.2 → 198.18.0.1, IP id 1, ICMP echo reply with the same id, seq and payload.
const ECHO_REPLY = Uint8Array.of(
  0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x40, 0x00, 0x40, 0x01, 0xae, 0xb0, 0xc6, 0x12, 0x00, 0x02,
  0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x45, 0x48, 0x00, 0x01, 0x00, 0x01,
  0x74, 0x75, 0x6e, 0x73, 0x74, 0x61, 0x63, 0x6b,
);

/** RFC 1071 one's complement sum, to prove the literals above are right. */
function onesComplement(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const CLIENT_RANDOM = '5a'.repeat(32);
const KEYLOG = `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CLIENT_RANDOM} ${'c3'.repeat(32)}\n`;
const T0 = 1_700_000_000_123_456_789n;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function echoCapture(reply: Uint8Array = ECHO_REPLY): Uint8Array {
  return concat(
    encodeSectionHeader({ application: 'tunstack', os: 'Linux', hardware: 'x86_64', comment: 'ping test' }),
    encodeInterfaceDescription({ name: 'tun0', description: 'tunstack test' }),
    encodeDecryptionSecrets(KEYLOG),
    encodeEnhancedPackets([
      { timestampNs: T0, packet: ECHO_REQUEST, direction: 'inbound', comment: 'echo request ✓' },
      { timestampNs: T0 + 211n, packet: reply, direction: 'outbound' },
    ]),
  );
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunstack-pcapng-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeTemp(name: string, bytes: Uint8Array): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
}

describe.skipIf(!hasTshark)('tshark reads what we write', () => {
  it('the hand-written ICMP literals have valid checksums', () => {
    for (const p of [ECHO_REQUEST, ECHO_REPLY]) {
      expect(onesComplement(p.subarray(0, 20))).toBe(0);
      expect(onesComplement(p.subarray(20))).toBe(0);
    }
  });

  it('opens an ICMP echo request (inbound) and reply (outbound)', () => {
    const file = writeTemp('echo.pcapng', echoCapture());
    const r = tshark('-r', file);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/cut short|appears to be damaged|isn't a capture file|error/i);
    const out = lines(r.stdout);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/198\.18\.0\.1 → 198\.18\.0\.2 +ICMP 36 Echo \(ping\) request/);
    expect(out[1]).toMatch(/198\.18\.0\.2 → 198\.18\.0\.1 +ICMP 36 Echo \(ping\) reply .*\(request in 1\)/);
  });

  it('shows the direction flags, the comment, the interface and nanosecond timestamps', () => {
    const file = writeTemp('fields.pcapng', echoCapture());
    const r = tshark(
      '-r', file, '-T', 'fields',
      '-e', 'frame.comment', '-e', 'frame.packet_flags_direction', '-e', 'frame.p2p_dir',
      '-e', 'frame.interface_name', '-e', 'frame.time_epoch',
    );
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'echo request ✓\t0x00000001\t1\ttun0\t1700000000.123456789',
      '\t0x00000002\t0\ttun0\t1700000000.123457000',
    ]);
  });

  it('reports no malformed packet and no error- or even warning-level expert info (checksums checked)', () => {
    const file = writeTemp('clean.pcapng', echoCapture());
    const errors = '_ws.malformed || _ws.expert.severity >= error';
    const warnings = '_ws.malformed || _ws.expert.severity >= warning'; // the packet comment is only "Comment"
    for (const filter of [errors, warnings]) {
      const r = tshark('-r', file, '-o', 'ip.check_checksum:TRUE', '-Y', filter);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('');
    }
    // Controls: the filters do flag a reply with a broken IP header checksum (an error) or a broken
    // ICMP checksum (a warning).
    const badIp = ECHO_REPLY.slice();
    badIp[11] = (badIp[11] ?? 0) ^ 0xff;
    const r1 = tshark('-r', writeTemp('bad-ip.pcapng', echoCapture(badIp)), '-o', 'ip.check_checksum:TRUE', '-Y', errors);
    expect(lines(r1.stdout)).toHaveLength(1);
    const badIcmp = ECHO_REPLY.slice();
    badIcmp[23] = (badIcmp[23] ?? 0) ^ 0xff;
    const r2 = tshark('-r', writeTemp('bad-icmp.pcapng', echoCapture(badIcmp)), '-Y', warnings);
    expect(lines(r2.stdout)).toHaveLength(1);
  });

  it('hands the Decryption Secrets Block key log to the TLS dissector', () => {
    const file = writeTemp('dsb.pcapng', echoCapture());
    const log = path.join(tmp, 'tls-debug.log');
    const r = tshark('-r', file, '-o', `tls.debug_file:${log}`);
    expect(r.status).toBe(0);
    const debug = fs.readFileSync(log, 'utf8');
    expect(debug).toContain(`checking keylog line: CLIENT_HANDSHAKE_TRAFFIC_SECRET ${CLIENT_RANDOM}`);
    expect(debug).toMatch(/matched client_handshake/);
  });

  it("Wireshark's own pcapng file dissector finds every block well-formed", () => {
    const file = writeTemp('blocks.pcapng', echoCapture());
    const asFile = ['-r', file, '-X', 'read_format:MIME Files Format'];
    const r = tshark(
      ...asFile, '-T', 'fields', '-E', 'separator=;',
      '-e', 'pcapng.block.type', '-e', 'pcapng.block.length', '-e', 'pcapng.block.length_trailer',
      '-e', 'pcapng.dsb.secrets_type', '-e', 'pcapng.options.option.data.interface.timestamp_resolution',
      '-e', 'pcapng.options.option.data.packet.flags.direction', '-e', 'pcapng.options.option.data.user_application',
    );
    expect(r.status).toBe(0);
    const [types, lengths, trailers, secretsType, tsresol, directions, app] = (lines(r.stdout)[0] ?? '').split(';');
    expect(types).toBe('0x0a0d0d0a,0x00000001,0x0000000a,0x00000006,0x00000006');
    expect(trailers).toBe(lengths);
    expect(secretsType).toBe('0x544c534b');
    expect(tsresol).toBe('0x09');
    expect(directions).toBe('0x0001,0x0002');
    expect(app).toBe('tunstack');
    const experts = tshark(...asFile, '-Y', '_ws.expert || _ws.malformed');
    expect(experts.stdout).toBe('');
  });

  it('control: tshark does complain about a file cut inside a block', () => {
    const whole = echoCapture();
    const r = tshark('-r', writeTemp('cut.pcapng', whole.subarray(0, whole.length - 10)));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cut short/);
  });
});

/** A Link that lets the test deliver inbound batches and ignores what is sent. */
class FakeLink implements Link {
  readonly name = 'tun9';
  readonly mtu = 1500;
  private receiver: BatchReceiver | undefined;
  setReceiver(receiver: BatchReceiver): void {
    this.receiver = receiver;
  }
  send(): void {}
  deliver(packets: readonly Uint8Array[]): void {
    this.receiver?.(packets);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe.skipIf(!hasTshark)('PcapTap files in tshark', () => {
  it('a capture whose writer was never closed (killed process) is valid up to the last batch', () => {
    const file = path.join(tmp, 'killed', 'tap.pcapng');
    const ticks = [T0, T0 + 1_001n, T0 + 2_000_002n];
    let i = 0;
    const link = new FakeLink();
    const tap = new PcapTap(link, fileSink(file), { clock: () => ticks[i++] ?? 0n, comment: 'killed' });
    tap.setReceiver(() => {});
    tap.addSecrets(KEYLOG);
    link.deliver([ECHO_REQUEST]);
    tap.send([ECHO_REPLY]);
    link.deliver([ECHO_REQUEST]);
    // No tap.close(): the file is read while this "process" still holds it open, as after a SIGKILL.
    const r = tshark(
      '-r', file, '-o', 'ip.check_checksum:TRUE', '-T', 'fields',
      '-e', 'frame.time_epoch', '-e', 'frame.packet_flags_direction', '-e', 'icmp.type',
    );
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/cut short|damaged/);
    expect(lines(r.stdout)).toEqual([
      '1700000000.123456789\t0x00000001\t8',
      '1700000000.123457790\t0x00000002\t0',
      '1700000000.125456791\t0x00000001\t8',
    ]);
    const clean = tshark('-r', file, '-o', 'ip.check_checksum:TRUE', '-Y', '_ws.malformed || _ws.expert.severity >= error');
    expect(clean.stdout).toBe('');
    expect(tap.captureError).toBeUndefined();
  });
});
