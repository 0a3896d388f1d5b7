// `tunstack ladder FILE`: reads a capture (pcapng or classic pcap), reconstructs its TCP connections and
// their TLS/HTTP messages, and writes ladder diagrams as a standalone HTML page or SVG file.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readCaptureFile } from '../ladder/capture.js';
import { renderHtml } from '../ladder/html.js';
import type { Connection } from '../ladder/model.js';
import { buildLadder } from '../ladder/reconstruct.js';
import { DEFAULT_MAX_ARROWS, renderSvg } from '../ladder/svg.js';
import { endpointText } from '../ladder/text.js';
import { asUsage, intFlag } from './args.js';
import { UsageError } from './errors.js';

export const LADDER_HELP = `Usage: tunstack ladder FILE [-o OUT.html|OUT.svg|-] [--connection N] [--max-arrows N]

Draws a ladder (sequence) diagram of each TCP connection in a capture: two lifelines, A (the side that
sent the SYN) and B, and one arrow per segment in time order — SYN, SYN-ACK, ACK, data with relative
seq/ack and length, retransmissions (orange) and out-of-order segments, FIN exchanges, RSTs (red) — with the TLS messages
(ClientHello, ServerHello, … Finished, NewSessionTicket, KeyUpdate, alerts) and HTTP request and
status lines found in the byte streams. TLS 1.3 records are decrypted when the capture carries the
key log (pcapng Decryption Secrets Blocks, as tunstack serve --pcap writes them).

Reads tunstack's pcapng, pcapng from dumpcap/tshark/tcpdump, and classic pcap (tcpdump -w) with raw IP,
Ethernet or Linux cooked (tcpdump -i any) link layers, IPv4 only. FILE - reads the capture from stdin
(until it ends) and writes the HTML to stdout unless -o says otherwise.

Options:
  -o, --output OUT    where to write: OUT.html (a page with a summary and every diagram), OUT.svg (one
                      SVG with the diagrams stacked), or - (the HTML page on stdout).
                      Default: FILE with .pcapng/.pcap replaced by .html, next to the capture
  --connection N      draw only connection N (numbered in order of first packet, as the summary lists them)
  --max-arrows N      draw at most N segments per connection (default 3000; the rest are counted)
  -h, --help          show this help

Example:
  tunstack ladder captures/demo-20261206T010000Z.pcapng     # writes captures/demo-20261206T010000Z.html`;

/** FILE with its capture extension replaced by .html. */
export function defaultOutput(file: string): string {
  const stem = file.replace(/\.(pcapng|pcap|cap|ntar)$/i, '');
  return `${stem}.html`;
}

function summaryLine(c: Connection): string {
  const s = c.summary;
  const parts = [
    `${String(c.id).padStart(3)}  ${endpointText(c, 'A')} → ${endpointText(c, 'B')}`,
    `${s.packets} packets`,
    `handshake ${s.handshake}`,
    s.ending === 'fin' ? 'FIN' : s.ending === 'rst' ? 'RST' : 'open',
  ];
  if (s.retransmissions > 0) parts.push(`${s.retransmissions} retransmitted`);
  if (s.outOfOrder > 0) parts.push(`${s.outOfOrder} out of order`);
  if (c.tls !== undefined) parts.push(`${c.tls.version}${c.tls.keysFound ? ' decrypted' : ' encrypted'}`);
  return parts.join('  ');
}

function readInput(file: string): Uint8Array {
  if (file === '-') {
    try {
      return readFileSync(0);
    } catch (e) {
      throw new UsageError(`cannot read the capture from stdin: ${(e as Error).message}`);
    }
  }
  try {
    if (statSync(file).isDirectory()) throw new UsageError(`${file} is a directory, not a capture file`);
    return readFileSync(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no such file: ${file}`);
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`cannot read ${file}: permission denied (try sudo, or copy the capture somewhere readable)`);
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

export async function ladder(argv: string[]): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        connection: { type: 'string' },
        'max-arrows': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) {
    process.stdout.write(LADDER_HELP + '\n');
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('tunstack ladder needs a capture file: tunstack ladder FILE [-o OUT.html|OUT.svg] (see --help)');
  if (positionals.length > 1) throw new UsageError(`tunstack ladder reads one capture file, got ${positionals.length}: ${positionals.join(' ')}`);
  const file = positionals[0]!;
  const out = values.output ?? (file === '-' ? '-' : defaultOutput(file));
  let format: 'html' | 'svg';
  if (out === '-' || /\.html?$/i.test(out)) format = 'html';
  else if (/\.svg$/i.test(out)) format = 'svg';
  else throw new UsageError(`-o ${out}: the output must end in .html or .svg (or be - for HTML on stdout)`);
  const maxArrows = intFlag('max-arrows', values['max-arrows'], DEFAULT_MAX_ARROWS, 1, 10_000_000);
  const only = values.connection === undefined ? undefined : intFlag('connection', values.connection, 1, 1, 1_000_000);

  const name = file === '-' ? 'stdin' : file;
  const capture = readCaptureFile(readInput(file));
  if (!capture.ok) throw new Error(`${name}: ${capture.error}`);
  const model = buildLadder(capture.value);
  let connections = model.connections;
  if (only !== undefined) {
    const c = connections.find((x) => x.id === only);
    if (c === undefined) {
      const n = connections.length;
      throw new UsageError(`--connection ${only}: ${name} has ${n === 0 ? 'no TCP connections' : n === 1 ? 'only connection 1' : `connections 1 to ${n}`}`);
    }
    connections = [c];
  }
  const text = format === 'html' ? renderHtml(model, name, connections, { maxArrows }) : renderSvg(connections, { title: `Ladder diagrams of ${name}`, maxArrows });

  const log = out === '-' ? process.stderr : process.stdout;
  for (const p of model.problems) process.stderr.write(`tunstack ladder: ${name}: ${p}\n`);
  if (out === '-') process.stdout.write(text);
  else {
    try {
      writeFileSync(out, text);
    } catch (e) {
      throw new Error(`cannot write ${out}: ${(e as Error).message}`);
    }
  }
  const n = connections.length;
  log.write(`${out === '-' ? 'wrote HTML to stdout' : `wrote ${out}`}: ${n} TCP connection${n === 1 ? '' : 's'} from ${model.packets} packets${format === 'html' && out !== '-' ? ' (open it in a browser)' : ''}\n`);
  for (const c of connections) log.write(summaryLine(c) + '\n');
  return 0;
}
