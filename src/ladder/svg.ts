// Renders connections as ladder (sequence) diagrams in SVG: two lifelines per connection, one slanted
// arrow per segment in time order with its flags, seq/ack/len and the TLS/HTTP messages it completed,
// times at the left, retransmissions and RSTs in their own colours, and a legend. Pure string output.

import { TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';
import type { Connection, SegmentEvent } from './model.js';
import { endpointText, escapeXml, noteLabel, relTime, segmentLabel, startText, wrap } from './text.js';

export const SVG_WIDTH = 1000;
const X_A = 250;
const X_B = 850;
const LINE = 15;
/** The vertical drop of an arrow: it leaves the sender before it reaches the receiver. */
const SLANT = 14;
const LABEL_CHARS = 82;
const HEADER = 92;

const STYLE = `
text { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; fill: #1b1b1b; }
.title { font-size: 14px; font-weight: bold; }
.sub { fill: #555; }
.time { fill: #555; font-size: 11px; }
.frame { fill: #999; font-size: 10px; }
.state { fill: #37474f; font-size: 10px; font-weight: bold; }
.life { stroke: #9aa5b1; stroke-width: 2; stroke-dasharray: 6 4; }
.box { fill: #eef3f8; stroke: #5b7083; stroke-width: 1; }
.arrow { stroke-width: 1.6; fill: none; }
.k-data .arrow { stroke: #1f4e9a; }
.k-ctl .arrow { stroke: #2e7d32; }
.k-ack .arrow { stroke: #6b7785; }
.k-retrans .arrow { stroke: #e07b00; stroke-dasharray: 5 3; }
.k-ooo .arrow { stroke: #9c6b00; stroke-dasharray: 2 3; }
.k-ooo .seg { fill: #7a5400; }
.k-rst .arrow { stroke: #c62828; stroke-width: 2.2; }
.k-retrans .seg { fill: #b35f00; }
.k-rst .seg { fill: #c62828; font-weight: bold; }
.tls { fill: #6a1b9a; font-weight: bold; }
.tls.encrypted { fill: #8e7a9c; font-style: italic; font-weight: normal; }
.http { fill: #00695c; font-weight: bold; }
.comment { fill: #777; font-style: italic; }
.gap { fill: #999; font-size: 11px; font-style: italic; }
`;

/** The arrow kinds: their CSS class, stroke colour (for the marker) and legend text. */
const KINDS = [
  { cls: 'k-ctl', color: '#2e7d32', legend: 'SYN / FIN (opens and closes)' },
  { cls: 'k-data', color: '#1f4e9a', legend: 'segment with data' },
  { cls: 'k-ack', color: '#6b7785', legend: 'pure ACK' },
  { cls: 'k-retrans', color: '#e07b00', legend: 'retransmission' },
  { cls: 'k-ooo', color: '#9c6b00', legend: 'out of order (fills a gap)' },
  { cls: 'k-rst', color: '#c62828', legend: 'RST (reset)' },
] as const;

function kindOf(ev: SegmentEvent): (typeof KINDS)[number]['cls'] {
  if ((ev.flags & TCP_RST) !== 0) return 'k-rst';
  if (ev.retransmission) return 'k-retrans';
  if (ev.outOfOrder) return 'k-ooo';
  if ((ev.flags & (TCP_SYN | TCP_FIN)) !== 0) return 'k-ctl';
  return ev.len > 0 ? 'k-data' : 'k-ack';
}

const f = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

function markers(prefix: string): string {
  return KINDS.map(
    (k) =>
      `<marker id="${prefix}${k.cls}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${k.color}"/></marker>`,
  ).join('');
}

interface Block {
  body: string;
  height: number;
}

/** Arrows drawn per connection by default: beyond a few thousand a browser struggles and nobody reads it. */
export const DEFAULT_MAX_ARROWS = 3000;

export interface RenderOptions {
  /** Draw at most this many segments of each connection (the rest are counted in a closing line). */
  maxArrows?: number;
}

/** One connection's diagram as SVG elements, drawn from y = 0 down; `prefix` keeps marker ids unique per document. */
function connectionBlock(c: Connection, prefix: string, opts: RenderOptions = {}): Block {
  const maxArrows = opts.maxArrows ?? DEFAULT_MAX_ARROWS;
  const out: string[] = [];
  const tls = c.tls;
  const title = `Connection ${c.id}: ${endpointText(c, 'A')} → ${endpointText(c, 'B')}`;
  const facts = [`started ${startText(c)} UTC`, `${c.summary.packets} packets`, `handshake ${c.summary.handshake}`, c.summary.ending === 'fin' ? 'closed with FIN' : c.summary.ending === 'rst' ? 'reset' : 'open at end of capture'];
  if (c.summary.retransmissions > 0) facts.push(`${c.summary.retransmissions} retransmission${c.summary.retransmissions === 1 ? '' : 's'}`);
  if (c.summary.outOfOrder > 0) facts.push(`${c.summary.outOfOrder} out of order`);
  if (tls !== undefined) facts.push(`${tls.version}${tls.suite ? ' ' + tls.suite : ''}${tls.keysFound ? ', decrypted with the capture’s key log' : ', no keys (encrypted)'}`);
  out.push(`<text class="title" x="12" y="20">${escapeXml(title)}</text>`);
  // The facts wrap onto a second line when long; everything below moves down by `dy`.
  const factLines = wrap(facts.join(' · '), 130, 2);
  factLines.forEach((l, i) => out.push(`<text class="sub" x="12" y="${38 + i * 14}">${escapeXml(l)}</text>`));
  const dy = (factLines.length - 1) * 14;
  const roleA = c.initiatorKnown ? 'A · opened the connection' : 'A · (SYN not captured)';
  const roleB = c.initiatorKnown ? 'B · answered' : 'B';
  for (const [x, ep, role] of [
    [X_A, endpointText(c, 'A'), roleA],
    [X_B, endpointText(c, 'B'), roleB],
  ] as const) {
    out.push(`<rect class="box" x="${x - 120}" y="${48 + dy}" width="240" height="36" rx="4"/>`);
    out.push(`<text x="${x}" y="${63 + dy}" text-anchor="middle">${escapeXml(ep)}</text>`);
    out.push(`<text class="sub" x="${x}" y="${78 + dy}" text-anchor="middle">${escapeXml(role)}</text>`);
  }
  out.push(`<text class="time" x="12" y="${HEADER + dy - 4}">time</text>`);

  let y = HEADER + dy + 6;
  let prevMs: number | undefined;
  const rows: string[] = [];
  for (const ev of c.segments.slice(0, maxArrows)) {
    // Time runs downwards: a pause shows as extra space (compressed logarithmically) and its length.
    if (prevMs !== undefined) {
      const gap = ev.relMs - prevMs;
      if (gap > 20) {
        const extra = Math.min(56, Math.round(8 * Math.log10(gap / 20) + 18));
        rows.push(`<text class="gap" x="${(X_A + X_B) / 2}" y="${f(y + extra / 2 + 4)}" text-anchor="middle">⋯ ${escapeXml(gap < 1000 ? `${gap.toFixed(1)} ms` : `${(gap / 1000).toFixed(2)} s`)} later ⋯</text>`);
        y += extra;
      }
    }
    prevMs = ev.relMs;
    const lines: { cls: string; text: string }[] = [];
    for (const l of wrap(segmentLabel(ev), LABEL_CHARS, 2)) lines.push({ cls: 'seg', text: l });
    for (const n of ev.notes) {
      const cls = n.kind === 'http' ? 'note http' : n.protection === 'encrypted' ? 'note tls encrypted' : 'note tls';
      for (const l of wrap(noteLabel(n), LABEL_CHARS, 3)) lines.push({ cls, text: l });
    }
    for (const cm of ev.comments) for (const l of wrap(`// ${cm}`, LABEL_CHARS, 2)) lines.push({ cls: 'comment', text: l });

    const kind = kindOf(ev);
    const x1 = ev.from === 'A' ? X_A : X_B;
    const x2 = ev.from === 'A' ? X_B : X_A;
    const textTop = y;
    const arrowY = y + lines.length * LINE + 2;
    const dir = ev.from === 'A' ? 'A→B' : 'B→A';
    const g: string[] = [];
    g.push(`<g class="ev ${kind}" data-frame="${ev.frame}" data-from="${ev.from}" data-dir="${dir}">`);
    g.push(`<title>${escapeXml(`frame ${ev.frame}, ${dir}: ${segmentLabel(ev)}`)}</title>`);
    g.push(`<text class="time" x="12" y="${f(arrowY + 4)}">${escapeXml(relTime(ev.relMs))}</text>`);
    g.push(`<text class="frame" x="104" y="${f(arrowY + 4)}">#${ev.frame}</text>`);
    // The states this segment moved each end into: the sender's where the arrow leaves, the receiver's where it lands.
    for (const s of ['A', 'B'] as const) {
      const st = ev.states[s];
      if (st === undefined) continue;
      const y = s === ev.from ? arrowY : arrowY + SLANT;
      g.push(s === 'A' ? `<text class="state" x="${X_A - 8}" y="${f(y + 4)}" text-anchor="end">${escapeXml(st)}</text>` : `<text class="state" x="${X_B + 8}" y="${f(y + 4)}">${escapeXml(st)}</text>`);
    }
    lines.forEach((l, i) => {
      g.push(`<text class="${l.cls}" x="${(X_A + X_B) / 2}" y="${f(textTop + (i + 1) * LINE - 3)}" text-anchor="middle">${escapeXml(l.text)}</text>`);
    });
    g.push(`<line class="arrow" x1="${x1}" y1="${f(arrowY)}" x2="${x2}" y2="${f(arrowY + SLANT)}" marker-end="url(#${prefix}${kind})"/>`);
    g.push('</g>');
    rows.push(g.join(''));
    y = arrowY + SLANT + 10;
  }
  if (c.segments.length > maxArrows) {
    const more = c.segments.length - maxArrows;
    rows.push(`<text class="gap" x="${(X_A + X_B) / 2}" y="${f(y + 12)}" text-anchor="middle">${escapeXml(`⋯ ${more} more segment${more === 1 ? '' : 's'} not drawn (tunstack ladder --max-arrows N draws more) ⋯`)}</text>`);
    y += 24;
  }
  if (c.segments.length === 0) y += 20;
  const bottom = y + 6;
  out.unshift(`<line class="life" x1="${X_A}" y1="${84 + dy}" x2="${X_A}" y2="${f(bottom)}"/><line class="life" x1="${X_B}" y1="${84 + dy}" x2="${X_B}" y2="${f(bottom)}"/>`);
  out.push(...rows);
  return { body: out.join('\n'), height: bottom + 10 };
}

function legendBlock(prefix: string): Block {
  const out: string[] = [`<text class="title" x="12" y="18">Legend</text>`];
  let x = 12;
  let y = 40;
  for (const k of KINDS) {
    if (x > SVG_WIDTH - 220) {
      x = 12;
      y += 22;
    }
    out.push(`<g class="${k.cls}"><line class="arrow" x1="${x}" y1="${y - 4}" x2="${x + 44}" y2="${y - 4}" marker-end="url(#${prefix}${k.cls})"/></g>`);
    out.push(`<text x="${x + 52}" y="${y}">${escapeXml(k.legend)}</text>`);
    x += 60 + k.legend.length * 7.3 + 20;
  }
  y += 22;
  out.push(`<text class="tls" x="12" y="${y}">ClientHello</text><text x="110" y="${y}">TLS message (in the clear or decrypted)</text>`);
  out.push(`<text class="tls encrypted" x="440" y="${y}">encrypted handshake</text><text x="600" y="${y}">TLS record without a key</text>`);
  y += 20;
  out.push(`<text class="http" x="12" y="${y}">GET / HTTP/1.1</text><text x="130" y="${y}">HTTP first line</text>`);
  out.push(`<text class="sub" x="440" y="${y}">Seq/Ack relative to each side's ISN; Len = payload bytes</text>`);
  y += 20;
  out.push(`<text class="state" x="12" y="${y}">ESTABLISHED</text><text x="110" y="${y}">the TCP state an end moves into (RFC 9293 names), inferred from the packets seen</text>`);
  return { body: out.join('\n'), height: y + 14 };
}

/** A standalone SVG document of the given connections, stacked, with the legend at the bottom. */
export function renderSvg(connections: readonly Connection[], opts: { title?: string } & RenderOptions = {}): string {
  const prefix = 'm-';
  const parts: string[] = [];
  let y = 0;
  if (opts.title !== undefined) {
    parts.push(`<text class="title" x="12" y="22">${escapeXml(opts.title)}</text>`);
    y = 36;
  }
  if (connections.length === 0) {
    parts.push(`<text x="12" y="${y + 20}">No IPv4 TCP connections in this capture.</text>`);
    y += 40;
  }
  for (const c of connections) {
    const b = connectionBlock(c, prefix, opts);
    parts.push(`<g class="connection" id="connection-${c.id}" transform="translate(0 ${f(y)})">\n${b.body}\n</g>`);
    y += b.height + 16;
  }
  const legend = legendBlock(prefix);
  parts.push(`<g class="legend" transform="translate(0 ${f(y)})">\n${legend.body}\n</g>`);
  y += legend.height + 8;
  return svgDocument(parts.join('\n'), y, prefix, true);
}

/** One connection as an SVG element for inlining in HTML (no XML declaration; unique marker ids). */
export function renderConnectionSvg(c: Connection, opts: RenderOptions = {}): string {
  const prefix = `c${c.id}-`;
  const b = connectionBlock(c, prefix, opts);
  return svgDocument(b.body, b.height, prefix, false);
}

/** The legend alone, for the HTML page. */
export function renderLegendSvg(): string {
  const b = legendBlock('lg-');
  return svgDocument(b.body, b.height, 'lg-', false);
}

function svgDocument(body: string, height: number, prefix: string, standalone: boolean): string {
  const h = Math.ceil(height);
  const head = standalone ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '';
  return (
    `${head}<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${h}" viewBox="0 0 ${SVG_WIDTH} ${h}">\n` +
    `<style>${STYLE}</style>\n<defs>${markers(prefix)}</defs>\n<rect x="0" y="0" width="${SVG_WIDTH}" height="${h}" fill="#ffffff"/>\n${body}\n</svg>\n`
  );
}
