// `tunstack ladder` as a user runs it (dist/cli/main.js): the default output next to the capture,
// -o .svg/.html/-, --connection, --help, and one-line errors for a missing, unreadable or
// non-capture file, a bad output name and a connection that does not exist.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultOutput } from '../../src/cli/ladder.js';
import { CLI, sh } from '../helpers/harness.js';
import { Conversation, pcapng, TCP_ACK, TCP_PSH, text } from './build.js';
import { parseXml } from './xml.js';

const dir = mkdtempSync(join(tmpdir(), 'tunstack-ladder-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ladder = (...args: string[]) => sh(process.execPath, [CLI, 'ladder', ...args]);

const conv = new Conversation().handshake().send('A', TCP_PSH | TCP_ACK, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).close();
const conv2 = new Conversation({ addr: '198.18.0.1', port: 40500, isn: 1 }, { addr: '198.18.0.2', port: 80, isn: 2 }).handshake().close();
const capture = join(dir, 'two.pcapng');
writeFileSync(capture, pcapng([...conv.packets, ...conv2.packets]));

describe('tunstack ladder', () => {
  it('writes_the_html_page_next_to_the_capture_by_default_and_lists_the_connections', async () => {
    const r = await ladder(capture);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(defaultOutput(capture)).toBe(join(dir, 'two.html'));
    expect(r.stdout.split('\n')).toEqual([
      `wrote ${join(dir, 'two.html')}: 2 TCP connections from 13 packets (open it in a browser)`,
      '  1  198.18.0.1:43210 → 198.18.0.2:443  7 packets  handshake complete  FIN',
      '  2  198.18.0.1:40500 → 198.18.0.2:80  6 packets  handshake complete  FIN',
      '',
    ]);
    const html = readFileSync(join(dir, 'two.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
  });

  it('writes_svg_for_an_svg_name_and_one_connection_with_connection_n', async () => {
    const out = join(dir, 'one.svg');
    const r = await ladder(capture, '-o', out, '--connection', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}: 1 TCP connection from 13 packets\n`);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    parseXml(svg);
    expect(svg).toContain('Connection 2: 198.18.0.1:40500 → 198.18.0.2:80');
    expect(svg).not.toContain('Connection 1:');
  });

  it('writes_html_to_stdout_for_dash_and_reports_on_stderr', async () => {
    const r = await ladder(capture, '-o', '-');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(r.stderr).toMatch(/^wrote HTML to stdout: 2 TCP connections from 13 packets\n/);
  });

  it('reads_the_capture_from_stdin_and_writes_html_to_stdout', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'ladder', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(readFileSync(capture));
    });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(r.stdout).toContain('<title>Ladder diagrams — stdin</title>');
    expect(r.stderr).toMatch(/^wrote HTML to stdout: 2 TCP connections from 13 packets\n/);
  });

  it('prints_help', async () => {
    const r = await ladder('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tunstack ladder FILE \[-o OUT\.html\|OUT\.svg\|-\] \[--connection N\]/);
    const top = await sh(process.execPath, [CLI, '--help']);
    expect(top.stdout).toMatch(/^ {2}ladder {4}draw a capture's TCP connections/m);
  });

  it('explains_each_mistake_in_one_line', async () => {
    const cases: [string[], number, string][] = [
      [[], 2, 'tunstack: tunstack ladder needs a capture file: tunstack ladder FILE [-o OUT.html|OUT.svg] (see --help)'],
      [[join(dir, 'nope.pcap')], 2, `tunstack: no such file: ${join(dir, 'nope.pcap')}`],
      [[dir], 2, `tunstack: ${dir} is a directory, not a capture file`],
      [[capture, '-o', join(dir, 'x.png')], 2, `tunstack: -o ${join(dir, 'x.png')}: the output must end in .html or .svg (or be - for HTML on stdout)`],
      [[capture, '--connection', '3'], 2, `tunstack: --connection 3: ${capture} has connections 1 to 2`],
      [[capture, '--connection', 'x'], 2, 'tunstack: --connection wants a whole number, not "x"'],
      [[capture, '--bogus'], 2, "tunstack: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\" (see --help)"],
    ];
    const notCapture = join(dir, 'notes.txt');
    writeFileSync(notCapture, 'just some text\n');
    cases.push([[notCapture], 1, `tunstack: ${notCapture}: not a pcap or pcapng capture (it starts with 6a 75 73 74; a pcapng file starts with 0a 0d 0d 0a, a pcap file with a1 b2 c3 d4 or its byte swap)`]);
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    cases.push([[empty], 1, `tunstack: ${empty}: the file is empty`]);
    cases.push([[capture, '-o', join(dir, 'no-such-dir', 'x.html')], 1, `tunstack: cannot write ${join(dir, 'no-such-dir', 'x.html')}: ENOENT: no such file or directory, open '${join(dir, 'no-such-dir', 'x.html')}'`]);
    for (const [args, code, message] of cases) {
      const r = await ladder(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code, stderr: message + '\n' });
    }
  });

  it('draws_what_is_left_of_a_truncated_capture_and_says_it_was_cut', async () => {
    const bytes = pcapng(conv.packets);
    const cut = join(dir, 'cut.pcapng');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    const r = await ladder(cut, '-o', join(dir, 'cut.html'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^tunstack ladder: .*cut\.pcapng: the file ends inside a block \(was the capture cut short\?\) \(at byte \d+\)\n$/);
    expect(r.stdout).toContain('1 TCP connection from 6 packets');
  });
});
