// `tunstack ladder` on the capture `tunstack demo` writes (root): the keep-alive connection with its two
// requests, the HTTPS connection with its TLS 1.3 handshake decrypted through the capture's DSBs,
// tunstack's own active open to the kernel side (tunstack is A there), and the refused connection (SYN
// answered by RST,ACK) all come out of the diagram model and the HTML page, which headless Chromium renders.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { CLI, isRoot, sh } from '../helpers/harness.js';
import { inspectPng } from '../ladder/png.js';
import { screenshot } from '../ladder/chromium.js';
import { inOrder, story } from '../ladder/story.js';
import { parseXml, walk } from '../ladder/xml.js';

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe.skipIf(!isRoot)('tunstack ladder on the demo capture (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-ladder-demo-'));
  let pcap: string | undefined;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (pcap !== undefined) rmSync(pcap, { force: true });
  });

  it('draws_the_keep_alive_and_https_connections_the_active_open_and_the_refused_syn_and_chromium_renders_it', async () => {
    const demo = await run(['demo'], dir, { TUNSTACK_STATE: join(dir, 'state') });
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    pcap = /(\S*demo-\S+\.pcapng)/.exec(demo.stdout)?.[1];
    expect(pcap).toBeDefined();
    if (!pcap!.startsWith('/')) pcap = join(dir, pcap!);

    const cap = readCaptureFile(readFileSync(pcap!));
    if (!cap.ok) throw new Error(cap.error);
    expect(cap.value.problems).toEqual([]);
    const ladder = buildLadder(cap.value);
    const http = (c: (typeof ladder.connections)[number]) => c.segments.flatMap((s) => s.notes.flatMap((n) => (n.kind === 'http' ? [`${s.from} ${n.line}`] : [])));

    // curl → tunstack :80, two URLs on one keep-alive connection.
    const keepAlive = ladder.connections.find((c) => c.b.port === 80 && http(c).length >= 4)!;
    expect(keepAlive).toBeDefined();
    expect(keepAlive.a.addr).toBe('198.18.0.1');
    expect(keepAlive.summary.handshake).toBe('complete');
    expect(http(keepAlive)).toEqual(['A GET /echo HTTP/1.1', 'B HTTP/1.1 200 OK', 'A GET /bytes/1000 HTTP/1.1', 'B HTTP/1.1 200 OK']);

    // tunstack's own active open to the node:http server on the kernel side: tunstack is A.
    const active = ladder.connections.find((c) => c.b.port === 8080)!;
    expect(active.a.addr).toBe('198.18.0.2');
    expect(active.summary).toMatchObject({ handshake: 'complete', ending: 'fin' });
    expect(http(active)).toEqual(['A GET / HTTP/1.1', 'B HTTP/1.1 200 OK']);

    // A closed port: the SYN draws RST,ACK (RFC 9293 §3.10.7.1).
    const refused = ladder.connections.find((c) => c.b.port === 9)!;
    expect(refused.segments.map((s) => `${s.from} ${s.flags}`)).toEqual(['A 2', 'B 20']);
    expect(refused.summary).toMatchObject({ handshake: 'partial', ending: 'rst', resets: 1 });

    const html = join(dir, 'demo.html');
    const r = await sh(process.execPath, [CLI, 'ladder', pcap!, '-o', html]);
    expect(r.code, r.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    const svgs = page.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(ladder.connections.length + 1);
    const parsed = svgs.map((s) => parseXml(s));

    // The HTTPS request: the TLS 1.3 handshake in order, decrypted with the secrets inside the capture.
    const tls = parsed.find((x) => walk(x).some((e) => e.name === 'text' && /→ 198\.18\.0\.2:443$/.test(e.text)));
    expect(tls).toBeDefined();
    const s = story(tls!);
    expect(s.slice(0, 3)).toEqual(['A→B SYN', 'B→A SYN, ACK', 'A→B ACK']);
    inOrder(s, [
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

    // Headless Chromium (Debian's chromium) renders the page without errors.
    const png = join(dir, 'demo.png');
    const chrome = await screenshot(html, png, dir);
    expect(chrome.code, chrome.stderr.slice(-2000)).toBe(0);
    const info = inspectPng(readFileSync(png));
    expect(info.inkPixels).toBeGreaterThan(20_000);
    expect(info.colouredPixels).toBeGreaterThan(5_000);
  });
});
