// `tunstack ladder` on real captures (root): (a) tunstack serve --pcap while curl fetches over HTTPS
// and HTTP — the diagram shows SYN, SYN-ACK, ACK, ClientHello … Finished (decrypted through the
// capture's DSB), the HTTP request and response, and the FINs in order; headless Chromium renders the
// page to a PNG; the TCP states inferred for tunstack's end match its own --trace-states; (b) classic
// pcap from tcpdump -w of a kernel-to-kernel connection between two namespaces joined by a veth pair
// (Ethernet, µs; and -i any with ns timestamps: Linux cooked). Both are cross-checked against tshark
// (handshake messages per frame, relative seq/ack, length, scaled window), and, with packets lost both
// ways (--impair), so are the retransmitted/out-of-order segments and the duplicate ACKs.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readPcap } from '../../src/capture/pcap-reader.js';
import { readCaptureFile } from '../../src/ladder/capture.js';
import type { Connection } from '../../src/ladder/model.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { CLI, freshNetns, inNs, isRoot, netnsList, sh, startServe, type ServeProcess } from '../helpers/harness.js';
import { inspectPng } from '../ladder/png.js';
import { dumpDom, screenshot } from '../ladder/chromium.js';
import { inOrder, story } from '../ladder/story.js';
import { parseXml, walk } from '../ladder/xml.js';

/** tshark's view of a capture: one array of field values per packet that matches `filter`. */
async function tshark(file: string, filter: string, fields: string[]): Promise<string[][]> {
  const r = await sh('tshark', ['-r', file, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** RFC 8446 §4 HandshakeType numbers of the message names the ladder uses. */
const HANDSHAKE_TYPE: Record<string, number> = {
  ClientHello: 1,
  ServerHello: 2,
  HelloRetryRequest: 2,
  NewSessionTicket: 4,
  EncryptedExtensions: 8,
  Certificate: 11,
  CertificateRequest: 13,
  CertificateVerify: 15,
  Finished: 20,
  KeyUpdate: 24,
};

describe.skipIf(!isRoot)('tunstack ladder on real captures (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-ladder-'));
  const namespaces: string[] = [];
  const procs: ChildProcess[] = [];
  let serve: ServeProcess | undefined;

  afterEach(async () => {
    if (serve) await serve.stop();
    serve = undefined;
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    const live = await netnsList();
    for (const ns of namespaces.splice(0)) if (live.includes(ns)) await sh('ip', ['netns', 'del', ns]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('draws_a_tunstack_https_capture_in_order_decrypted_and_chromium_renders_it', async () => {
    const ns = freshNetns();
    namespaces.push(ns);
    const pcap = join(dir, 'serve.pcapng');
    const state = join(dir, 'state');
    serve = await startServe(['--netns', ns, '--pcap', pcap, '--state', state, '--trace-states'], { TUNSTACK_STATE: state });
    const https = await inNs(ns, 'curl', ['-sS', '--max-time', '10', '--cacert', join(state, 'ca.pem'), 'https://198.18.0.2/echo']);
    expect(https.stderr).toBe('');
    expect(https.stdout).toMatch(/^GET \/echo HTTP\/1\.1/);
    const http = await inNs(ns, 'curl', ['-sS', '--max-time', '10', 'http://198.18.0.2/bytes/3000', '-o', '/dev/null', '-w', '%{http_code}']);
    expect(http.stdout).toBe('200');
    const trace = serve.stderr();
    expect(await serve.stop()).toBe(0);
    serve = undefined;

    const html = join(dir, 'serve.html');
    const r = await sh(process.execPath, [CLI, 'ladder', pcap, '-o', html]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/→ 198\.18\.0\.2:443 .*handshake complete .*TLS 1\.3 decrypted/);
    expect(r.stdout).toMatch(/→ 198\.18\.0\.2:80 .*handshake complete {2}FIN/);

    const page = readFileSync(html, 'utf8');
    const svgs = (page.match(/<svg[\s\S]*?<\/svg>/g) ?? []).map(parseXml);
    const tls = svgs.find((s) => walk(s).some((e) => e.name === 'text' && /→ 198\.18\.0\.2:443$/.test(e.text)));
    expect(tls).toBeDefined();
    const s = story(tls!);
    inOrder(s, [
      'A→B SYN',
      'B→A SYN, ACK',
      'A→B ACK',
      'A→B ClientHello',
      'B→A ServerHello',
      'B→A EncryptedExtensions',
      'B→A Certificate',
      'B→A CertificateVerify',
      'B→A Finished',
      'A→B Finished',
      'A→B GET /echo HTTP/1.1',
      'B→A HTTP/1.1 200 OK',
      /^(A→B|B→A) FIN/,
    ]);
    expect(s.slice(0, 3)).toEqual(['A→B SYN', 'B→A SYN, ACK', 'A→B ACK']);
    // How the close goes on is up to the kernel: curl's socket answers data it did not read with a RST
    // instead of its own FIN (RFC 9293 §3.6.1 / RFC 2525 §2.17), so only the first FIN is a fixed point.
    // The same handshake messages on the same frames as tshark decodes them with the capture's DSBs.
    const cap = readCaptureFile(readFileSync(pcap));
    if (!cap.ok) throw new Error(cap.error);
    const conn = buildLadder(cap.value).connections.find((c) => c.b.port === 443)!;
    // The states inferred for tunstack's end (B) are the ones tunstack itself went through (--trace-states).
    const traced = trace
      .split('\n')
      .filter((l) => l.includes(`tcp ${conn.a.addr}:${conn.a.port} → :443 `))
      .map((l) => l.split(' → ').at(-1)!.trim());
    expect(traced[0]).toBe('SYN-RECEIVED');
    expect(conn.segments.flatMap((x) => (x.states.B !== undefined ? [x.states.B] : []))).toEqual(traced);
    const ours = conn.segments
      .map((x) => [String(x.frame), x.notes.flatMap((n) => (n.kind === 'tls' && HANDSHAKE_TYPE[n.message] !== undefined ? [HANDSHAKE_TYPE[n.message]] : [])).join(',')])
      .filter(([, types]) => types !== '');
    expect(ours).toEqual(await tshark(pcap, 'tcp.port == 443 && tls.handshake.type', ['frame.number', 'tls.handshake.type']));
    const plain = svgs.find((x) => walk(x).some((e) => e.name === 'text' && /→ 198\.18\.0\.2:80$/.test(e.text)))!;
    inOrder(story(plain), ['A→B SYN', 'B→A SYN, ACK', 'A→B ACK', 'A→B GET /bytes/3000 HTTP/1.1', 'B→A HTTP/1.1 200 OK', /^(A→B|B→A) FIN/]);

    // Headless Chromium (Debian's chromium) renders the page.
    const png = join(dir, 'serve.png');
    const chrome = await screenshot(html, png, dir);
    expect(chrome.code, chrome.stderr.slice(-2000)).toBe(0);
    const info = inspectPng(readFileSync(png));
    expect({ width: info.width, height: info.height }).toEqual({ width: 1200, height: 2000 });
    // A blank page has no ink; the diagrams have lines and text in colour.
    expect(info.inkPixels).toBeGreaterThan(20_000);
    expect(info.colouredPixels).toBeGreaterThan(5_000);

    // Chromium's own parse of the standalone SVG: no XML error page (a <parsererror>), every arrow there.
    const svgFile = join(dir, 'serve.svg');
    expect((await sh(process.execPath, [CLI, 'ladder', pcap, '-o', svgFile])).code).toBe(0);
    const dom = await dumpDom(svgFile, dir);
    expect(dom.code).toBe(0);
    expect(dom.stdout).not.toContain('parsererror');
    const segments = buildLadder(cap.value).connections.reduce((n, x) => n + x.segments.length, 0);
    expect(dom.stdout.match(/<g class="ev /g)).toHaveLength(segments);
  });

  it('marks_the_segments_tshark_marks_as_retransmitted_or_out_of_order_when_packets_are_lost', async () => {
    const ns = freshNetns();
    namespaces.push(ns);
    const pcap = join(dir, 'lossy.pcapng');
    // --impair loses packets both ways (seeded), so both sides retransmit and fill holes.
    serve = await startServe(['--netns', ns, '--pcap', pcap, '--no-https', '--impair', 'loss=8%', '--impair-out', 'loss=8%']);
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '60', 'http://198.18.0.2/bytes/400000', '-o', '/dev/null', '-w', '%{http_code}'], 90_000);
    expect(r.stdout).toBe('200');
    expect(await serve.stop()).toBe(0);
    serve = undefined;
    const cap = readCaptureFile(readFileSync(pcap));
    if (!cap.ok) throw new Error(cap.error);
    const c = buildLadder(cap.value).connections.find((x) => x.b.port === 80)!;
    const ours = c.segments.filter((x) => x.retransmission || x.outOfOrder).map((x) => [String(x.frame)]);
    expect(ours.length).toBeGreaterThan(0);
    // Wireshark splits the same set by timing (retransmission, fast/spurious retransmission, out-of-order).
    const theirs = await tshark(pcap, 'tcp.port == 80 && (tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order)', ['frame.number']);
    expect(ours).toEqual(theirs);
    expect(c.summary.retransmissions + c.summary.outOfOrder).toBe(ours.length);
    // The duplicate ACKs that drive fast retransmit (RFC 5681 §3.2), counted as tshark counts them.
    const dup = c.segments.filter((x) => x.dupAck > 0).map((x) => [String(x.frame), String(x.dupAck)]);
    expect(dup.length).toBeGreaterThan(0);
    const theirDup = await tshark(pcap, 'tcp.port == 80 && tcp.analysis.duplicate_ack', ['frame.number', 'tcp.analysis.duplicate_ack_num']);
    expect(dup).toEqual(theirDup);
  });

  /** Two namespaces joined by a veth pair (created inside them: nothing in the root namespace), a python3 HTTP server on the second. */
  async function vethPair(): Promise<{ client: string; server: string }> {
    const client = freshNetns();
    const server = freshNetns();
    namespaces.push(client, server);
    for (const cmd of [
      ['netns', 'add', client],
      ['netns', 'add', server],
      ['-n', client, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', server],
      ['-n', client, 'addr', 'add', '198.18.2.1/24', 'dev', 'v0'],
      ['-n', server, 'addr', 'add', '198.18.2.2/24', 'dev', 'v1'],
      ['-n', client, 'link', 'set', 'v0', 'up'],
      ['-n', server, 'link', 'set', 'v1', 'up'],
      ['-n', client, 'link', 'set', 'lo', 'up'],
      ['-n', server, 'link', 'set', 'lo', 'up'],
    ]) {
      const r = await sh('ip', cmd);
      expect(r.code, `ip ${cmd.join(' ')}: ${r.stderr}`).toBe(0);
    }
    writeFileSync(join(dir, 'hello.txt'), 'hello from the kernel side\n');
    const py = spawn('ip', ['netns', 'exec', server, 'python3', '-u', '-m', 'http.server', '8080', '--bind', '198.18.2.2', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(py);
    await waitFor(py, /Serving HTTP/, 'python3 -m http.server');
    return { client, server };
  }

  /** Resolves when `proc` prints a line matching `re` on stdout or stderr (rejects after 15 s or on exit). */
  function waitFor(proc: ChildProcess, re: RegExp, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`${what} did not start within 15 s: ${seen}`)), 15_000);
      const on = (d: Buffer) => {
        seen += d.toString();
        if (re.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', on);
      proc.stderr?.on('data', on);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${what} exited with ${code}: ${seen}`));
      });
    });
  }

  /** Captures one curl fetch between the namespaces with tcpdump -w (extra tcpdump flags given), returns the file. */
  async function tcpdumpFetch(flags: string[], name: string): Promise<string> {
    const { client } = await vethPair();
    const file = join(dir, name);
    // -U: write each packet at once; -Z root: keep root so it can write into our private temp dir.
    const td = spawn('ip', ['netns', 'exec', client, 'tcpdump', ...flags, '-U', '-Z', 'root', '-w', file, 'tcp port 8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(td);
    await waitFor(td, /listening on/, 'tcpdump');
    const curl = await inNs(client, 'curl', ['-sS', '--max-time', '10', 'http://198.18.2.2:8080/hello.txt']);
    expect(curl.stdout).toBe('hello from the kernel side\n');
    // The server closes after its HTTP/1.0 response; wait until tcpdump has the last ACK of the FIN exchange.
    for (let i = 0; i < 50; i++) {
      const got = readCaptureFile(readFileSync(file));
      if (got.ok && buildLadder(got.value).connections[0]?.summary.ending === 'fin') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise((r) => td.once('exit', r));
    td.kill('SIGINT');
    await exited;
    return file;
  }

  /** Relative seq/ack, length and the scaled window agree with tshark's TCP analysis, packet by packet. */
  async function expectSameAsTshark(file: string, c: Connection): Promise<void> {
    const theirs = await tshark(file, 'tcp', ['frame.number', 'tcp.seq', 'tcp.ack', 'tcp.flags.ack', 'tcp.len', 'tcp.window_size']);
    const ours = c.segments.map((x) => [String(x.frame), String(x.seq), x.ack === undefined ? '0' : String(x.ack), x.ack === undefined ? '0' : '1', String(x.len), String(x.window)]);
    expect(ours).toEqual(theirs);
  }

  function checkKernelConnection(c: Connection): void {
    expect(c.a).toMatchObject({ addr: '198.18.2.1' });
    expect(c.b).toEqual({ addr: '198.18.2.2', port: 8080 });
    expect(c.summary).toMatchObject({ handshake: 'complete', ending: 'fin', resets: 0 });
    const s = c.segments.map((x) => `${x.from} ${x.flags & 0x17}`); // FIN|SYN|RST|ACK bits
    expect(s.slice(0, 3)).toEqual(['A 2', 'B 18', 'A 16']); // SYN, SYN-ACK, ACK
    const finA = s.findIndex((x) => x === 'A 17');
    const finB = s.findIndex((x) => x === 'B 17');
    expect(finA).toBeGreaterThan(2);
    expect(finB).toBeGreaterThan(2);
    expect(s.at(-1)).toMatch(/ 16$/); // the ACK of the last FIN
    const http = c.segments.flatMap((x) => x.notes.map((n) => `${x.from} ${n.kind === 'http' ? n.line : n.message}`));
    expect(http).toEqual(['A GET /hello.txt HTTP/1.1', 'B HTTP/1.0 200 OK']);
  }

  it('reads_a_classic_pcap_written_by_tcpdump_on_a_veth_ethernet_microseconds', async () => {
    const file = await tcpdumpFetch(['-i', 'v0'], 'veth.pcap');
    const bytes = readFileSync(file);
    const raw = readPcap(bytes);
    expect(raw.ok && raw.value.header).toMatchObject({ linkType: 1, nanoseconds: false, littleEndian: true });
    const cap = readCaptureFile(bytes);
    if (!cap.ok) throw new Error(cap.error);
    const ladder = buildLadder(cap.value);
    expect(ladder.skipped).toEqual({});
    expect(ladder.connections).toHaveLength(1);
    checkKernelConnection(ladder.connections[0]!);

    await expectSameAsTshark(file, ladder.connections[0]!);

    const svg = join(dir, 'veth.svg');
    const r = await sh(process.execPath, [CLI, 'ladder', file, '-o', svg]);
    expect(r.code, r.stderr).toBe(0);
    const s = story(parseXml(readFileSync(svg, 'utf8')));
    inOrder(s, ['A→B SYN', 'B→A SYN, ACK', 'A→B ACK', 'A→B GET /hello.txt HTTP/1.1', 'B→A HTTP/1.0 200 OK', /^(A→B|B→A) FIN, ACK$/, /^(A→B|B→A) FIN, ACK$/, /^(A→B|B→A) ACK$/]);
  });

  it('reads_tcpdump_any_with_nanosecond_timestamps_linux_cooked_capture', async () => {
    const file = await tcpdumpFetch(['-i', 'any', '--time-stamp-precision=nano'], 'any.pcap');
    const bytes = readFileSync(file);
    const raw = readPcap(bytes);
    expect(raw.ok && raw.value.header.nanoseconds).toBe(true);
    expect(raw.ok && [113, 276].includes(raw.value.header.linkType)).toBe(true);
    const cap = readCaptureFile(bytes);
    if (!cap.ok) throw new Error(cap.error);
    const ladder = buildLadder(cap.value);
    expect(ladder.connections).toHaveLength(1);
    checkKernelConnection(ladder.connections[0]!);
    await expectSameAsTshark(file, ladder.connections[0]!);
    // Nanosecond stamps: not all of them are whole microseconds.
    expect(cap.value.packets.some((p) => p.timestampNs! % 1000n !== 0n)).toBe(true);
  });
});
