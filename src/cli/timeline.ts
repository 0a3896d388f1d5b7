// The demo's timeline: every packet crossing the TUN as one line of a textbook figure — the kernel on the
// left, tunstack on the right, segments as arrows with flags, seq/ack relative to each side's ISN (as
// Wireshark shows them), window and length — with each TLS handshake message and each TCP state change
// in between: tunstack's from its own events, the kernel's inferred from the segments (marked *).

import { formatIpv4Addr } from '../wire/addr.js';
import { parseIcmp } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, parseIpv4 } from '../wire/ipv4.js';
import { describeFlags, parseTcp, TCP_SYN, type TcpSegment } from '../wire/tcp.js';
import { causeOf } from '../link/pcap-flow.js';
import { InferredEnd } from './demo-kernel-states.js';
import type { StackEvent } from './running-stack.js';

export interface TimelineOptions {
  /** Receives each finished line (no trailing newline). */
  write: (line: string) => void;
  /** ANSI colours (only for a terminal). */
  color: boolean;
  /** Milliseconds (default performance.now); times are printed relative to the first line. */
  now?: () => number;
  /** tunstack's address, for connection headings (default 198.18.0.2). */
  localAddr?: string;
}

/** One line of the figure before layout: the connection it belongs to (for headings) and its three columns. */
interface Entry {
  key: string | undefined;
  left: string;
  mid: string;
  right: string;
  t: number;
  /** A packet's line (kept in its batch's order); other lines follow the batch. */
  packet?: boolean;
  /** TCP flags, for an inbound segment (to place the state changes it caused right after it). */
  flags?: number;
  /** Lines placed right after this one (the state changes it caused). */
  after?: Entry[];
}

/** Column widths: time, the kernel's state, the segment arrow; tunstack's state follows. */
const TIME_W = 9;
const LEFT_W = 13;
const MID_W = 66;

const ANSI = { dim: '2', bold: '1', red: '31', green: '32', yellow: '33', blue: '34', magenta: '35', cyan: '36' } as const;
type Colour = keyof typeof ANSI;

interface Connection {
  kernel: string;
  tunstack: string;
  isnKernel?: number;
  isnTunstack?: number;
  /** Window scale shifts from the SYNs (RFC 7323 §2.2: used only when both sides sent one). */
  wsKernel?: number;
  wsTunstack?: number;
  kernelEnd: InferredEnd;
}

export class Timeline {
  private readonly write: (line: string) => void;
  private readonly color: boolean;
  private readonly now: () => number;
  private t0: number | undefined;
  private readonly conns = new Map<string, Connection>();
  private current: string | undefined;
  private readonly localAddr: string;
  /** The inbound batch being processed: its lines wait so each state change lands under the segment that caused it. */
  private held: { entries: Entry[]; tail: Entry[] } | undefined;
  /** Lines written per kind, for the summary and tests. */
  readonly counts = { segments: 0, tls: 0, tunstackStates: 0, kernelStates: 0, other: 0 };

  constructor(opts: TimelineOptions) {
    this.write = opts.write;
    this.color = opts.color;
    this.now = opts.now ?? (() => performance.now());
    this.localAddr = opts.localAddr ?? '198.18.0.2';
  }

  /** The column heads and the legend. */
  legend(): void {
    this.write(
      this.paint('bold', `${pad('  time', TIME_W)} ${pad('kernel*', LEFT_W)} ${pad('segments: flags, seq/ack relative to each ISN, window, length', MID_W)} tunstack`),
    );
    this.write(this.paint('dim', '  * the kernel\'s TCP state, inferred from the segments it sends and receives; tunstack\'s states are its own'));
  }

  /** A section title between the steps. */
  section(title: string): void {
    this.flush();
    this.current = undefined;
    this.write('');
    this.write(this.paint('bold', `== ${title}`));
  }

  /**
   * A batch of packets: 'in' goes kernel → tunstack (its lines wait until 'in-done', when the stack has
   * processed it), 'out' tunstack → kernel.
   */
  packets(batch: readonly Uint8Array[], direction: 'in' | 'in-done' | 'out'): void {
    if (direction === 'in-done') return this.flush();
    this.flush(); // what arrived comes before what tunstack answers
    if (direction === 'in') this.held = { entries: [], tail: [] };
    for (const p of batch) this.packet(p, direction);
  }

  /** A TCP state change or TLS message from tunstack. */
  event(e: StackEvent): void {
    const key = `${e.remoteAddr}:${e.remotePort}/${e.localPort}`;
    if (e.kind === 'tcp-state') {
      this.counts.tunstackStates++;
      const entry = this.entry(key, '', '', this.paint('green', `${e.from} → ${e.to}`));
      // RFC 9293 §3.3.2: a state change is caused by a segment (or a call, or a timer): under the
      // inbound segment of this connection that explains it, if the batch has one.
      const held = this.held;
      if (held) {
        const segs = held.entries.filter((x) => x.key === key && x.flags !== undefined);
        const k = causeOf(segs.map((x) => x.flags as number), e.from, e.to, true);
        const cause = segs[k];
        if (cause) {
          entry.t = cause.t; // it happened while tunstack processed that segment
          (cause.after ??= []).push(entry);
          return;
        }
      }
      return this.emit(entry);
    }
    this.counts.tls++;
    if (e.kind === 'tls-error') return this.emit(this.entry(key, '', this.paint('red', `  TLS ${e.text}`), ''));
    if (e.message === 'Negotiated') {
      return this.emit(this.entry(key, '', this.paint('green', `  TLS negotiated: ${e.detail}`), ''));
    }
    // Direction as seen on the wire: a message tunstack received came from the kernel side.
    const arrow = e.direction === 'in' ? '──▶' : '◀──';
    const text = `  TLS ${arrow} ${e.message}${e.detail ? ` ${shortenTlsDetail(e.detail)}` : ''}`;
    this.emit(this.entry(key, '', this.paint(e.message === 'Alert' ? 'red' : 'blue', text), ''));
  }

  /** Writes the held inbound batch's lines, each followed by the state changes it caused, then the rest. */
  flush(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    for (const e of held.entries) {
      this.render(e);
      for (const a of e.after ?? []) this.render(a);
    }
    for (const e of held.tail) this.render(e);
  }

  // ------------------------------------------------------------------------------------------

  private packet(bytes: Uint8Array, direction: 'in' | 'out'): void {
    const ip = parseIpv4(bytes, { verifyChecksum: false });
    if (!ip.ok) return this.other(direction, `malformed IPv4 (${ip.error})`);
    const h = ip.value;
    if (h.moreFragments || h.fragmentOffset > 0) {
      return this.other(direction, `IPv4 fragment id=${h.id} offset=${h.fragmentOffset} len=${h.payload.length}`);
    }
    if (h.protocol === IPPROTO_TCP) {
      // With checksum offload the TCP checksum may be partial here: the kernel completes it.
      const t = parseTcp(h.payload, h.src, h.dst, { verifyChecksum: false });
      if (!t.ok) return this.other(direction, `TCP malformed (${t.error})`);
      return this.segment(formatIpv4Addr(h.src), formatIpv4Addr(h.dst), t.value, direction);
    }
    if (h.protocol === IPPROTO_UDP && h.payload.length >= 8) {
      const sp = ((h.payload[0] as number) << 8) | (h.payload[1] as number);
      const dp = ((h.payload[2] as number) << 8) | (h.payload[3] as number);
      return this.other(direction, `UDP ${formatIpv4Addr(h.src)}:${sp} → ${formatIpv4Addr(h.dst)}:${dp} len=${h.payload.length - 8}`);
    }
    if (h.protocol === IPPROTO_ICMP) {
      const m = parseIcmp(h.payload, { verifyChecksum: false });
      if (!m.ok) return this.other(direction, `ICMP malformed (${m.error})`);
      const v = m.value;
      switch (v.type) {
        case 'echo-request':
        case 'echo-reply':
          return this.other(direction, `ICMP ${v.type.replace('-', ' ')} id=${v.id} seq=${v.seq} len=${v.data.length}`);
        case 'dest-unreachable':
          return this.other(direction, `ICMP destination unreachable (${UNREACH[v.code] ?? `code ${v.code}`})${quotedPorts(v.quoted)}`);
        case 'time-exceeded':
          return this.other(direction, `ICMP time exceeded${quotedPorts(v.quoted)}`);
        case 'other':
          return this.other(direction, `ICMP type=${v.icmpType} code=${v.code}`);
      }
    }
    return this.other(direction, `IPv4 protocol ${h.protocol} len=${h.payload.length}`);
  }

  private segment(src: string, dst: string, s: TcpSegment, direction: 'in' | 'out'): void {
    const fromKernel = direction === 'in';
    const kernel = fromKernel ? `${src}:${s.srcPort}` : `${dst}:${s.dstPort}`;
    const tunstack = fromKernel ? `${dst}:${s.dstPort}` : `${src}:${s.srcPort}`;
    const key = `${fromKernel ? `${src}:${s.srcPort}` : `${dst}:${s.dstPort}`}/${fromKernel ? s.dstPort : s.srcPort}`;
    const syn = (s.flags & TCP_SYN) !== 0;
    let c = this.conns.get(key);
    if (!c || (syn && (s.flags & 0x10) === 0 && fromKernel && c.isnKernel !== undefined && c.isnKernel !== s.seq)) {
      // A new connection (or the same ports reused): the kernel end starts CLOSED when it sends the
      // first SYN (a client), LISTEN when tunstack does (a server).
      c = { kernel, tunstack, kernelEnd: new InferredEnd(fromKernel ? 'CLOSED' : 'LISTEN') };
      this.conns.set(key, c);
    }
    if (syn) {
      if (fromKernel) {
        c.isnKernel = s.seq;
        c.wsKernel = s.options.windowScale;
      } else {
        c.isnTunstack = s.seq;
        c.wsTunstack = s.options.windowScale;
      }
    }
    const ownIsn = fromKernel ? c.isnKernel : c.isnTunstack;
    const peerIsn = fromKernel ? c.isnTunstack : c.isnKernel;
    const rel = (v: number, isn: number | undefined) => (isn === undefined ? v : (v - isn) >>> 0);
    // RFC 7323 §2.3: the window field of a SYN is never scaled; afterwards, scaled by the sender's shift.
    const shift = !syn && c.wsKernel !== undefined && c.wsTunstack !== undefined ? (fromKernel ? c.wsKernel : c.wsTunstack) : 0;
    let label = `${describeFlags(s.flags)} seq=${rel(s.seq, ownIsn)}`;
    if ((s.flags & 0x10) !== 0) label += ` ack=${rel(s.ack, peerIsn)}`;
    label += ` win=${s.window * 2 ** Math.min(shift, 14)} len=${s.payload.length}`;
    if (syn) label += ` ${synOptions(s)}`;
    const hint = payloadHint(s.payload);
    if (hint) label += ` ${hint}`;

    const facts = { flags: s.flags, seq: s.seq, ack: s.ack, len: s.payload.length };
    const kernelStates = fromKernel ? c.kernelEnd.sent(facts) : c.kernelEnd.received(facts);
    if (kernelStates.length > 0) this.counts.kernelStates++;
    this.counts.segments++;
    const left = kernelStates.length > 0 ? this.paint('yellow', `${kernelStates.join(' ')}*`) : '';
    const entry = this.entry(key, left, this.paint(fromKernel ? 'cyan' : 'magenta', arrow(label, fromKernel)), '');
    entry.packet = true;
    if (fromKernel) entry.flags = s.flags;
    this.emit(entry);
  }

  private other(direction: 'in' | 'out', text: string): void {
    this.counts.other++;
    const entry = this.entry(undefined, '', this.paint(direction === 'in' ? 'cyan' : 'magenta', arrow(text, direction === 'in')), '');
    entry.packet = true;
    this.emit(entry);
  }

  private entry(key: string | undefined, left: string, mid: string, right: string): Entry {
    if (this.t0 === undefined) this.t0 = this.now();
    return { key, left, mid, right, t: this.now() - this.t0 };
  }

  /** Into the held batch (a packet line goes with its batch; anything else after it), or out now. */
  private emit(e: Entry): void {
    if (!this.held) return this.render(e);
    if (e.packet) this.held.entries.push(e);
    else this.held.tail.push(e);
  }

  private render(e: Entry): void {
    if (e.key === undefined) this.current = undefined;
    else this.switchTo(e.key);
    const t = (e.t / 1000).toFixed(4);
    const text = `${this.paint('dim', pad(`${t}s`.padStart(TIME_W - 1), TIME_W))} ${padAnsi(e.left, LEFT_W)} ${padAnsi(e.mid, MID_W)} ${e.right}`;
    this.write(text.trimEnd());
  }

  /** Prints a small heading when the lines move to another connection. */
  private switchTo(key: string): void {
    if (this.current === key) return;
    this.current = key;
    const c = this.conns.get(key);
    const [kernel, port] = key.split('/');
    const title = c ? `${c.kernel} ⇄ ${c.tunstack}` : `${kernel} ⇄ ${this.localAddr}:${port}`;
    this.write(this.paint('dim', `${' '.repeat(TIME_W + LEFT_W + 2)}┌ connection ${title}`));
  }

  private paint(colour: Colour, text: string): string {
    return this.color && text.length > 0 ? `\x1b[${ANSI[colour]}m${text}\x1b[0m` : text;
  }
}

const UNREACH: Record<number, string> = { 0: 'net', 1: 'host', 2: 'protocol', 3: 'port', 4: 'fragmentation needed' };

/** "── label ─────▶" (kernel → tunstack) or "◀───── label ──", MID_W wide when the label fits. */
function arrow(label: string, rightward: boolean): string {
  const fill = '─'.repeat(Math.max(2, MID_W - label.length - 6));
  return rightward ? `── ${label} ${fill}▶` : `◀${fill} ${label} ──`;
}

function pad(s: string, w: number): string {
  return s.length >= w ? s : s + ' '.repeat(w - s.length);
}

/** Pads by visible width (ANSI colour sequences take none). */
function padAnsi(s: string, w: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = s.replace(/\x1b\[[0-9;]*m/g, '').length;
  return visible >= w ? s : s + ' '.repeat(w - visible);
}

/** "<mss 1460,sack,ts,ws 7>" — the options a SYN negotiates (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
function synOptions(s: TcpSegment): string {
  const o = s.options;
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
  if (o.sackPermitted) parts.push('sack');
  if (o.timestamps) parts.push('ts');
  if (o.windowScale !== undefined) parts.push(`ws ${o.windowScale}`);
  return `<${parts.join(',')}>`;
}

/** What a segment carries, when its first bytes say: an HTTP request/status line, or TLS records. */
export function payloadHint(p: Uint8Array): string | undefined {
  if (p.length === 0) return undefined;
  const head = Buffer.from(p.subarray(0, Math.min(p.length, 120))).toString('latin1');
  const http = /^(?:(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) \S+ HTTP\/1\.[01]|HTTP\/1\.[01] \d{3}[^\r\n]*)/.exec(head);
  if (http) return `"${http[0]}"`;
  // RFC 8446 §5.1: ContentType (1), legacy_record_version (2), length (2), fragment.
  const types: string[] = [];
  let off = 0;
  while (off + 5 <= p.length) {
    const type = TLS_CONTENT[p[off] as number];
    if (type === undefined || p[off + 1] !== 3) break;
    types.push(type);
    off += 5 + (((p[off + 3] as number) << 8) | (p[off + 4] as number));
  }
  if (types.length === 0) return undefined;
  const runs: string[] = [];
  for (let i = 0; i < types.length; ) {
    let j = i;
    while (j < types.length && types[j] === types[i]) j++;
    runs.push(j - i > 1 ? `${types[i]}×${j - i}` : (types[i] as string));
    i = j;
  }
  return `[TLS ${runs.join(', ')}${off !== p.length ? ' …' : ''}]`;
}

const TLS_CONTENT: Record<number, string> = { 20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data' };

/** An ICMP error's quoted datagram as " about UDP 198.18.0.1:40000 → 198.18.0.2:9". */
function quotedPorts(q: Uint8Array): string {
  const ip = parseIpv4(q, { verifyChecksum: false });
  if (!ip.ok && q.length < 28) return '';
  const ihl = ((q[0] as number) & 0x0f) * 4;
  if (q.length < ihl + 4) return '';
  const proto = q[9] === IPPROTO_UDP ? 'UDP' : q[9] === IPPROTO_TCP ? 'TCP' : `protocol ${q[9]}`;
  const addr = (o: number) => `${q[o]}.${q[o + 1]}.${q[o + 2]}.${q[o + 3]}`;
  const port = (o: number) => ((q[o] as number) << 8) | (q[o + 1] as number);
  return ` about ${proto} ${addr(12)}:${port(ihl)} → ${addr(16)}:${port(ihl + 2)}`;
}

/**
 * A ClientHello from curl offers TLS 1.2 suites too: keep the TLS 1.3 ones (what tunstack can pick)
 * and count the rest, so the line stays one line.
 */
export function shortenTlsDetail(detail: string): string {
  return detail.replace(/suites=\[([^\]]*)\]/, (_m, list: string) => {
    const all = list.split(',').filter((x) => x.length > 0);
    const tls13 = all.filter((x) => /^TLS_(AES|CHACHA)/.test(x));
    const rest = all.length - tls13.length;
    return `suites=[${tls13.join(',')}${rest > 0 ? `${tls13.length > 0 ? ',' : ''}+${rest} TLS 1.2` : ''}]`;
  });
}
