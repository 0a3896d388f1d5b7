// Text for the diagrams: XML escaping (every string from a capture is untrusted), the segment and note
// labels, times, and word wrapping for a fixed-width font.

import { describeFlags } from '../wire/tcp.js';
import type { Connection, Note, SegmentEvent } from './model.js';

/**
 * Escapes text for XML/HTML character data and attribute values, and drops what XML 1.0 forbids
 * (§2.2 Char: control characters other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF).
 */
export function escapeXml(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) {
      out += '\ufffd';
      continue;
    }
    switch (ch) {
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '"':
        out += '&quot;';
        break;
      case "'":
        out += '&#39;';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** "SYN", "SYN, ACK", "PSH, ACK" — the flags as Wireshark lists them. */
export function flagText(flags: number): string {
  return describeFlags(flags).split(',').join(', ');
}

/** "SYN Seq=0 Win=64240 Len=0 MSS=1460 WS=7 SACK_PERM TS", "PSH, ACK Seq=1 Ack=1 Win=502 Len=517". */
export function segmentLabel(ev: SegmentEvent): string {
  const parts = [flagText(ev.flags), `Seq=${ev.seq}`];
  if (ev.ack !== undefined) parts.push(`Ack=${ev.ack}`);
  parts.push(`Win=${ev.window}`, `Len=${ev.len}`);
  if (ev.options !== '') parts.push(ev.options);
  if (ev.sack.length > 0) parts.push(`SACK=${ev.sack.map(([l, r]) => `${l}-${r}`).join(',')}`);
  if (ev.dupAck > 0) parts.push(`[dup ACK #${ev.dupAck}]`);
  if (ev.retransmission) parts.push('[retransmission]');
  if (ev.outOfOrder) parts.push('[out of order]');
  return parts.join(' ');
}

/** "ServerHello TLS_AES_128_GCM_SHA256 key_share=x25519", "GET /echo HTTP/1.1". */
export function noteLabel(n: Note): string {
  if (n.kind === 'http') return n.line;
  const text = n.detail === '' ? n.message : `${n.message} ${n.detail}`;
  return n.protection === 'decrypted' ? `${text} (decrypted)` : text;
}

/** "+0.000 ms", "+12.345 ms", "+1.234 s". */
export function relTime(ms: number): string {
  return ms < 1000 ? `+${ms.toFixed(3)} ms` : `+${(ms / 1000).toFixed(3)} s`;
}

/** "2026-12-06 01:16:02.123456" from the first packet's timestamp, or "—" without one. */
export function startText(c: Connection): string {
  if (c.startNs === undefined) return '—';
  const ms = c.startNs / 1_000_000n;
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '—';
  const micro = String((c.startNs / 1000n) % 1_000_000n).padStart(6, '0');
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${micro}`;
}

export function endpointText(c: Connection, side: 'A' | 'B'): string {
  const e = side === 'A' ? c.a : c.b;
  return `${e.addr}:${e.port}`;
}

/** Wraps `text` into lines of at most `width` characters (breaking at spaces when it can), at most `maxLines`. */
export function wrap(text: string, width: number, maxLines: number): string[] {
  const chars = Array.from(text);
  const lines: string[] = [];
  let at = 0;
  while (at < chars.length && lines.length < maxLines) {
    if (chars.length - at <= width) {
      lines.push(chars.slice(at).join(''));
      at = chars.length;
      break;
    }
    let cut = at + width;
    for (let i = cut; i > at + width / 2; i--) {
      if (chars[i] === ' ') {
        cut = i;
        break;
      }
    }
    lines.push(chars.slice(at, cut).join('').trimEnd());
    at = cut;
    while (chars[at] === ' ') at++;
  }
  if (at < chars.length && lines.length > 0) {
    const last = Array.from(lines[lines.length - 1]!);
    lines[lines.length - 1] = last.slice(0, Math.max(0, width - 1)).join('') + '…';
  }
  return lines;
}
