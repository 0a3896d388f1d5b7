// PcapTap over an in-test fake Link: pass-through, ordering, injected nanosecond clock, comments,
// secrets, snap length, failure isolation; and the sinks (memory, file, FIFO with EPIPE and EAGAIN).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EpbBlock, type PcapngFile, readPcapng } from '../../src/capture/pcapng-reader.js';
import type { BatchReceiver, Link } from '../../src/link/link.js';
import { type CaptureSink, PcapTap, fdSink, fileSink, memorySink, wallClockNs } from '../../src/link/pcap-tap.js';

/** A Link that records what is sent and lets the test deliver inbound batches. */
class FakeLink implements Link {
  readonly name = 'fake0';
  readonly mtu = 1500;
  receiver: BatchReceiver | undefined;
  readonly sent: (readonly Uint8Array[])[] = [];
  closed = 0;
  setReceiver(receiver: BatchReceiver): void {
    this.receiver = receiver;
  }
  send(packets: readonly Uint8Array[]): void {
    this.sent.push(packets);
  }
  deliver(packets: readonly Uint8Array[]): void {
    this.receiver?.(packets);
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

/** A clock that returns the given nanosecond timestamps in turn. */
function steppingClock(start: bigint, step: bigint): () => bigint {
  let t = start - step;
  return () => (t += step);
}

function pkt(...bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}

function read(bytes: Uint8Array): PcapngFile {
  const r = readPcapng(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function epbs(file: PcapngFile): EpbBlock[] {
  return file.blocks.filter((b): b is EpbBlock => b.kind === 'epb');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tunstack-tap-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('PcapTap', () => {
  it('passes batches through unchanged and records them in order with the clock\'s nanoseconds', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: steppingClock(1_700_000_000_000_000_001n, 1_000n) });
    expect(tap.name).toBe('fake0');
    expect(tap.mtu).toBe(1500);

    const got: (readonly Uint8Array[])[] = [];
    tap.setReceiver((packets) => got.push(packets));
    const in1 = [pkt(0x45, 1), pkt(0x45, 2, 2)];
    const out1 = [pkt(0x45, 3, 3, 3)];
    const in2 = [pkt(0x45, 4)];
    link.deliver(in1);
    tap.send(out1);
    link.deliver(in2);

    expect(got).toEqual([in1, in2]);
    expect(got[0]).toBe(in1); // the very same batch object, not a copy
    expect(link.sent[0]).toBe(out1);

    // SHB+IDB in one write, then exactly one write per batch.
    expect(sink.chunks).toHaveLength(4);
    const file = read(sink.bytes());
    expect(file.problems).toEqual([]);
    expect(file.blocks.map((b) => b.kind)).toEqual(['shb', 'idb', 'epb', 'epb', 'epb', 'epb']);
    const idb = file.blocks[1];
    expect(idb).toMatchObject({ kind: 'idb', linkType: 101, name: 'fake0', tsresol: 9, snapLen: 262144 });
    expect(file.blocks[0]).toMatchObject({ kind: 'shb', application: 'tunstack' });
    const e = epbs(file);
    expect(e.map((x) => x.direction)).toEqual(['inbound', 'inbound', 'outbound', 'inbound']);
    // One clock reading per batch.
    expect(e.map((x) => x.timestampNs)).toEqual([
      1_700_000_000_000_000_001n,
      1_700_000_000_000_000_001n,
      1_700_000_000_000_001_001n,
      1_700_000_000_000_002_001n,
    ]);
    expect(e.map((x) => Array.from(x.data))).toEqual([[0x45, 1], [0x45, 2, 2], [0x45, 3, 3, 3], [0x45, 4]]);
    expect(tap.packetsCaptured).toBe(4);
    expect(tap.bytesWritten).toBe(sink.bytes().length);
  });

  it('cuts packets to snapLen in the capture only', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { snapLen: 3, clock: () => 1n });
    const big = pkt(1, 2, 3, 4, 5, 6);
    tap.send([big]);
    expect(link.sent[0]?.[0]).toBe(big);
    const [e] = epbs(read(sink.bytes()));
    expect(e).toMatchObject({ capturedLength: 3, originalLength: 6 });
    expect(read(sink.bytes()).blocks[1]).toMatchObject({ snapLen: 3 });
    expect(() => new PcapTap(link, memorySink(), { snapLen: 0 })).toThrow(RangeError);
  });

  it('writes the annotate hook\'s comments and commentNext() on the next packet', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, {
      clock: () => 5n,
      interfaceName: 'tun7',
      interfaceDescription: 'tunstack test',
      comment: 'tunstack demo --pcap',
      annotate: (p, dir) => (p[1] === 9 ? `marked ${dir}` : undefined),
    });
    tap.setReceiver(() => {});
    tap.commentNext('SYN from the kernel');
    link.deliver([pkt(0x45, 0), pkt(0x45, 9)]);
    tap.commentNext('first');
    tap.commentNext('second');
    tap.send([pkt(0x45, 9)]);
    const file = read(sink.bytes());
    expect(file.blocks[0]).toMatchObject({ comments: ['tunstack demo --pcap'] });
    expect(file.blocks[1]).toMatchObject({ name: 'tun7', description: 'tunstack test' });
    expect(epbs(file).map((e) => e.comments)).toEqual([['SYN from the kernel'], ['marked inbound'], ['first\nsecond\nmarked outbound']]);
  });

  it('addSecrets writes a Decryption Secrets Block immediately, as its own write', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 1n });
    const line = `CLIENT_TRAFFIC_SECRET_0 ${'00'.repeat(32)} ${'ff'.repeat(32)}`;
    tap.addSecrets(line);
    tap.addSecrets('');
    expect(sink.chunks).toHaveLength(2);
    const file = read(sink.bytes());
    expect(file.blocks[2]).toMatchObject({ kind: 'dsb', secretsType: 0x544c534b, text: `${line}\n` });
  });

  it('does not leak bytes of a larger earlier batch from its reused buffer', () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 1n });
    const large = Array.from({ length: 40 }, (_, i) => new Uint8Array(3000 + i).fill(i));
    tap.send(large);
    tap.send([pkt(0x45)]);
    const file = read(sink.bytes());
    expect(file.problems).toEqual([]);
    const e = epbs(file);
    expect(e).toHaveLength(41);
    expect(e[39]?.data.length).toBe(3039);
    expect(e[39]?.data.every((b) => b === 39)).toBe(true);
    expect(Array.from(e[40]?.data ?? [])).toEqual([0x45]);
  });

  it('a failing sink stops the capture but never the link', () => {
    const link = new FakeLink();
    let writes = 0;
    let closes = 0;
    const failing: CaptureSink = {
      write() {
        if (++writes === 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
      close() {
        closes++;
      },
    };
    const tap = new PcapTap(link, failing, { clock: () => 1n });
    const got: number[] = [];
    tap.setReceiver((p) => got.push(p.length));
    tap.send([pkt(1)]); // write 2
    expect(() => tap.send([pkt(2)])).not.toThrow(); // write 3 fails
    expect(tap.capturing).toBe(false);
    expect(tap.captureError?.message).toMatch(/ENOSPC/);
    expect(closes).toBe(1);
    tap.send([pkt(3)]);
    link.deliver([pkt(4), pkt(5)]);
    tap.addSecrets('x');
    expect(writes).toBe(3); // nothing more was written
    expect(link.sent).toHaveLength(3);
    expect(got).toEqual([2]);
    expect(tap.packetsCaptured).toBe(1);
  });

  it('a throwing clock or annotate hook stops the capture but never the link', () => {
    const link = new FakeLink();
    const tap = new PcapTap(link, memorySink(), {
      clock: () => {
        throw new Error('clock broke');
      },
    });
    tap.send([pkt(1)]);
    expect(link.sent).toHaveLength(1);
    expect(tap.captureError?.message).toBe('clock broke');

    const link2 = new FakeLink();
    const tap2 = new PcapTap(link2, memorySink(), {
      clock: () => 1n,
      annotate: () => {
        throw new Error('hook broke');
      },
    });
    tap2.setReceiver(() => {});
    link2.deliver([pkt(1)]);
    expect(tap2.captureError?.message).toBe('hook broke');
  });

  it('close() closes the inner link and the sink once; later traffic still flows', async () => {
    const link = new FakeLink();
    const sink = memorySink();
    const tap = new PcapTap(link, sink, { clock: () => 1n });
    await Promise.all([tap.close(), tap.close()]);
    await tap.close();
    expect(link.closed).toBe(1);
    expect(sink.closed).toBe(true);
    expect(tap.capturing).toBe(false);
    expect(tap.captureError).toBeUndefined();
    tap.send([pkt(1)]);
    expect(link.sent).toHaveLength(1);
    expect(sink.chunks).toHaveLength(1);
  });

  it('the default clock is wall-clock anchored, nanosecond-resolution and never goes back', () => {
    const a = wallClockNs();
    const b = wallClockNs();
    expect(b).toBeGreaterThanOrEqual(a);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const diff = a > nowNs ? a - nowNs : nowNs - a;
    expect(diff).toBeLessThan(1_000_000_000n);
  });
});

describe('capture sinks', () => {
  it('fileSink creates parent directories and writes each chunk synchronously', () => {
    const file = path.join(tmp, 'a', 'b', 'c.pcapng');
    const sink = fileSink(file);
    sink.write(pkt(1, 2, 3));
    expect(Array.from(fs.readFileSync(file))).toEqual([1, 2, 3]); // on disk before close
    sink.write(pkt(4));
    sink.close();
    sink.close();
    expect(Array.from(fs.readFileSync(file))).toEqual([1, 2, 3, 4]);
    expect(() => sink.write(pkt(5))).toThrow(/closed/);
  });

  it('fileSink says which file it cannot open', () => {
    fs.writeFileSync(path.join(tmp, 'plainfile'), '');
    expect(() => fileSink(path.join(tmp, 'plainfile', 'x.pcapng'))).toThrow(/^cannot open capture file .*plainfile/);
  });

  it("fileSink('-') targets stdout and never closes fd 1", () => {
    const sink = fileSink('-');
    sink.write(new Uint8Array(0));
    sink.close();
    expect(() => fs.fstatSync(1)).not.toThrow();
  });

  it('a FIFO works like a file; EPIPE when the reader goes away stops the capture quietly', () => {
    const fifo = path.join(tmp, 'epipe.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const link = new FakeLink();
    const tap = new PcapTap(link, fileSink(fifo), { clock: () => 1n }); // a reader exists: open does not block
    tap.send([pkt(0x45, 1)]);
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(reader, buf, 0, buf.length, null);
    const got = read(new Uint8Array(buf.subarray(0, n)));
    expect(got.blocks.map((b) => b.kind)).toEqual(['shb', 'idb', 'epb']);
    fs.closeSync(reader);
    expect(() => tap.send([pkt(0x45, 2)])).not.toThrow();
    expect(tap.capturing).toBe(false);
    expect((tap.captureError as NodeJS.ErrnoException | undefined)?.code).toBe('EPIPE');
    expect(link.sent).toHaveLength(2);
  });

  it('fdSink waits out EAGAIN on a full non-blocking pipe while a slow reader drains it', async () => {
    const fifo = path.join(tmp, 'eagain.fifo');
    const out = path.join(tmp, 'eagain.out');
    execFileSync('mkfifo', [fifo]);
    // Hold a read end open so the non-blocking write end can be opened; a `cat` does the draining.
    const holder = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const wfd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    const cat = spawn('sh', ['-c', 'sleep 0.2; exec cat "$0" > "$1"', fifo, out], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => cat.on('exit', resolve));
    const sink = fdSink(wfd);
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
    const started = performance.now();
    for (let i = 0; i < 4; i++) sink.write(chunk); // 1 MiB through a 64 KiB pipe: EAGAIN many times
    const elapsedMs = performance.now() - started;
    sink.close();
    fs.closeSync(holder);
    expect(await exited).toBe(0);
    expect(elapsedMs).toBeGreaterThan(100); // it really waited for the reader (which starts after 200 ms)
    const written = fs.readFileSync(out);
    expect(written.length).toBe(4 * chunk.length);
    expect(written.subarray(3 * chunk.length).equals(Buffer.from(chunk))).toBe(true);
  });
});
