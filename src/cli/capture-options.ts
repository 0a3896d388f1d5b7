// The capture flags `serve` and `get` share beside --pcap: --pcap-rotate SIZE and --pcap-port N (repeatable),
// checked into RunningStack options, plus the messages a person sees about a FIFO or a reader that left.

import { statSync } from 'node:fs';
import { intFlag } from './args.js';
import { UsageError } from './errors.js';
import type { RunningStackOptions } from './running-stack.js';

export const CAPTURE_FLAGS = {
  'pcap-rotate': { type: 'string' },
  'pcap-port': { type: 'string', multiple: true },
} as const;

export const CAPTURE_HELP = `  --pcap FILE      write every packet to FILE as pcapng, with the TLS secrets inside (open it with
                   wireshark FILE or tshark -r FILE); - streams it to stdout (… --pcap - | wireshark -k -i -;
                   the ready line then goes to stderr); a named pipe (mkfifo) works too: tunstack waits
                   up to 30 s for its reader. Packets that changed a connection's TCP state carry a
                   comment (frame.comment), e.g. "198.18.0.1:40312 → :80 SYN-RECEIVED → ESTABLISHED"
  --pcap-rotate SIZE  start a new file once one holds SIZE bytes (e.g. 10M, 500K; K/M/G = 1024^n):
                   FILE, then FILE-1.pcapng, FILE-2.pcapng …, each complete with the secrets of the
                   connections still open
  --pcap-port N    capture only TCP/UDP packets to or from port N (and ICMP errors about them); repeatable`;

/** "10M" → 10485760, "500k" → 512000, "4096" → 4096; K/M/G are powers of 1024. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG])?[bB]?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { k: 1 << 10, m: 1 << 20, g: 1 << 30 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1;
  return Number(m[1]) * unit;
}

/** What a person reads when the capture stops: EPIPE means the reader left, which is not tunstack's failure. */
export function describeCaptureError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EPIPE') return 'capture stopped: its reader went away (broken pipe); tunstack keeps running without it';
  if (code === 'EAGAIN') return 'capture stopped: its reader stopped reading (the pipe stayed full); tunstack keeps running without it';
  return `capture stopped: ${e.message}; tunstack keeps running without it`;
}

/** --pcap-rotate and --pcap-port, checked against --pcap, as RunningStack options (with stderr messages). */
export function captureOptions(
  values: { pcap?: string; 'pcap-rotate'?: string; 'pcap-port'?: string[] },
  who: string,
): Pick<RunningStackOptions, 'pcapRotateBytes' | 'pcapPorts' | 'onCaptureWaiting' | 'onCaptureError'> {
  const pcap = values.pcap;
  const rotateText = values['pcap-rotate'];
  const portTexts = values['pcap-port'] ?? [];
  if (pcap === undefined && (rotateText !== undefined || portTexts.length > 0)) {
    throw new UsageError(`--pcap-rotate and --pcap-port shape a capture: give --pcap FILE too`);
  }
  let pcapRotateBytes: number | undefined;
  if (rotateText !== undefined) {
    pcapRotateBytes = parseSize(rotateText);
    if (pcapRotateBytes === undefined) throw new UsageError(`--pcap-rotate wants a size like 10M or 500K, not "${rotateText}"`);
    if (pcapRotateBytes < 1024) throw new UsageError(`--pcap-rotate must be at least 1K, not ${rotateText}`);
    let fifo = false;
    try {
      fifo = statSync(pcap!).isFIFO();
    } catch {
      // A new file.
    }
    if (pcap === '-' || fifo) throw new UsageError('--pcap-rotate needs --pcap FILE (a regular file), not a pipe');
  }
  const pcapPorts = portTexts.map((t) => intFlag('pcap-port', t, 0, 1, 65535));
  return {
    ...(pcapRotateBytes !== undefined ? { pcapRotateBytes } : {}),
    ...(pcapPorts.length > 0 ? { pcapPorts } : {}),
    onCaptureWaiting: (path) =>
      process.stderr.write(`${who}: waiting for a reader on the FIFO ${path} (e.g. wireshark -k -i ${path}, or tshark -r ${path})\n`),
    onCaptureError: (e) => process.stderr.write(`${who}: ${describeCaptureError(e)}\n`),
  };
}
