// The renderers: the SVG parses as XML, its arrows run in time order between the right lifelines
// (SYN, SYN-ACK, ACK, ClientHello, ServerHello … Finished, HTTP, FIN), slanting down; retransmissions
// and RSTs get their own classes; the legend is there; every capture string is escaped; the HTML page
// carries a summary row and one inline SVG per connection.

import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/ladder/capture.js';
import { renderHtml } from '../../src/ladder/html.js';
import type { Ladder } from '../../src/ladder/model.js';
import { buildLadder } from '../../src/ladder/reconstruct.js';
import { renderSvg, SVG_WIDTH } from '../../src/ladder/svg.js';
import { escapeXml, wrap } from '../../src/ladder/text.js';
import { Conversation, pcapng, type Packet, TCP_ACK, TCP_PSH, TCP_RST, text } from './build.js';
import { capture, https, tlsPackets } from './tls-fixture.js';
import { hasClass, parseXml, walk, type XmlElement } from './xml.js';

function ladderOf(bytes: Uint8Array): Ladder {
  const r = readCaptureFile(bytes);
  if (!r.ok) throw new Error(r.error);
  return buildLadder(r.value);
}

interface Arrow {
  dir: string;
  kind: string;
  lines: string[];
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The event groups of an SVG in document order, with their label lines and arrow geometry. */
function arrows(svg: XmlElement): Arrow[] {
  return walk(svg)
    .filter((e) => e.name === 'g' && hasClass(e, 'ev'))
    .map((g) => {
      const line = g.children.find((c) => c.name === 'line')!;
      return {
        dir: g.attrs['data-dir']!,
        kind: (g.attrs.class ?? '').split(' ').find((c) => c.startsWith('k-'))!,
        lines: g.children.filter((c) => c.name === 'text' && (hasClass(c, 'seg') || hasClass(c, 'note'))).map((c) => c.text),
        x1: Number(line.attrs.x1),
        y1: Number(line.attrs.y1),
        x2: Number(line.attrs.x2),
        y2: Number(line.attrs.y2),
      };
    });
}

/** "A→B SYN", "B→A ServerHello", "A→B GET /tls HTTP/1.1": the flags of each segment and the first word(s) of each note. */
function story(as: Arrow[]): string[] {
  return as.flatMap((a) =>
    a.lines.map((l, i) => {
      if (i === 0) return `${a.dir} ${l.replace(/ Seq=.*$/, '')}`;
      return /^(GET|HTTP)/.test(l) ? `${a.dir} ${l}` : `${a.dir} ${l.split(' ')[0]}`;
    }),
  );
}

/** Asserts `want` occurs in `have` in order (other items may sit between). */
function expectInOrder(have: string[], want: string[]): void {
  let at = 0;
  for (const w of want) {
    const i = have.indexOf(w, at);
    expect(i, `${w} after position ${at} in ${JSON.stringify(have)}`).toBeGreaterThanOrEqual(0);
    at = i + 1;
  }
}

describe('SVG ladder', () => {
  const { p, keyLog } = https();
  const ladder = ladderOf(capture(p, 1460, keyLog));

  it('draws_the_handshakes_in_order_between_the_right_lifelines', () => {
    const svg = parseXml(renderSvg(ladder.connections));
    expect(svg.name).toBe('svg');
    expect(svg.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    const as = arrows(svg);
    expectInOrder(story(as), [
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
      'A→B GET /tls HTTP/1.1',
      'B→A HTTP/1.1 200 OK',
      'A→B KeyUpdate',
      'B→A KeyUpdate',
      'A→B GET /after-key-update HTTP/1.1',
      'A→B Alert',
      'A→B FIN, ACK',
      'B→A FIN, ACK',
    ]);
    expect(story(as).slice(0, 3)).toEqual(['A→B SYN', 'B→A SYN, ACK', 'A→B ACK']);
    // Arrows go from the sender's lifeline to the receiver's, slanting down, each below the previous one.
    for (const a of as) {
      expect([a.x1, a.x2]).toEqual(a.dir === 'A→B' ? [250, 850] : [850, 250]);
      expect(a.y2).toBeGreaterThan(a.y1);
    }
    for (let i = 1; i < as.length; i++) expect(as[i]!.y1).toBeGreaterThan(as[i - 1]!.y2);
    expect(Number(svg.attrs.width)).toBe(SVG_WIDTH);
  });

  it('shows_times_at_the_left_and_the_endpoints_on_top', () => {
    const svg = parseXml(renderSvg(ladder.connections));
    const texts = walk(svg).filter((e) => e.name === 'text');
    const times = texts.filter((t) => hasClass(t, 'time') && t.text.startsWith('+')).map((t) => t.text);
    expect(times[0]).toBe('+0.000 ms');
    expect(times[1]).toBe('+0.100 ms');
    expect(times.length).toBe(ladder.connections[0]!.segments.length);
    expect(texts.some((t) => t.text === '198.18.0.1:43210')).toBe(true);
    expect(texts.some((t) => t.text === '198.18.0.2:443')).toBe(true);
    expect(texts.some((t) => t.text === 'Legend')).toBe(true);
    expect(texts.some((t) => t.text === 'retransmission')).toBe(true);
    expect(texts.some((t) => t.text === 'RST (reset)')).toBe(true);
  });

  it('gives_retransmissions_and_rsts_their_own_classes', () => {
    const conv = new Conversation({ addr: '198.18.0.1', port: 40100, isn: 5 }, { addr: '198.18.0.2', port: 80, isn: 6 }).handshake();
    const s = conv.nextSeq('A');
    conv.send('A', TCP_PSH | TCP_ACK, text('x')).send('A', TCP_PSH | TCP_ACK, text('z'), { seq: s + 2 }).send('A', TCP_PSH | TCP_ACK, text('y'), { seq: s + 1 });
    conv.wait(300_000).send('A', TCP_PSH | TCP_ACK, text('x'), { seq: s }).send('B', TCP_RST | TCP_ACK);
    const svg = parseXml(renderSvg(ladderOf(pcapng(conv.packets)).connections));
    const as = arrows(svg);
    expect(as.map((a) => a.kind)).toEqual(['k-ctl', 'k-ctl', 'k-ack', 'k-data', 'k-data', 'k-ooo', 'k-retrans', 'k-rst']);
    expect(as[5]!.lines[0]).toMatch(/\[out of order\]$/);
    expect(as[6]!.lines[0]).toMatch(/\[retransmission\]$/);
    expect(walk(svg).some((e) => e.name === 'text' && e.text === 'out of order (fills a gap)')).toBe(true);
  });

  it('escapes_every_string_that_came_from_the_capture', () => {
    const evil = 'GET /<script>alert("x")</script>?a=1&b=\'2\' HTTP/1.1';
    const conv = new Conversation({ addr: '198.18.0.1', port: 40101, isn: 5 }, { addr: '198.18.0.2', port: 80, isn: 6 }).handshake();
    conv.send('A', TCP_PSH | TCP_ACK, text(`${evil}\r\nHost: x\r\n\r\n`));
    const packets: Packet[] = conv.packets.map((x, i) => (i === 3 ? { ...x, comment: '<b>state</b> & more' } : x));
    const l = ladderOf(pcapng(packets));
    const svgText = renderSvg(l.connections, { title: 'file <x>.pcap' });
    expect(svgText).not.toContain('<script');
    expect(svgText).not.toContain('<b>');
    const svg = parseXml(svgText);
    const texts = walk(svg).filter((e) => e.name === 'text').map((t) => t.text);
    expect(texts).toContain(evil);
    expect(texts).toContain('// <b>state</b> & more');
    expect(texts).toContain('file <x>.pcap');
    const html = renderHtml(l, 'cap<img src=x onerror=alert(1)>.pcap');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('cap&lt;img src=x onerror=alert(1)&gt;.pcap');
    expect(escapeXml('a\u0001b\ud800c')).toBe('a\ufffdb\ufffdc');
  });

  it('wraps_long_labels_and_marks_what_was_cut', () => {
    expect(wrap('ab cd ef', 5, 3)).toEqual(['ab cd', 'ef']);
    const long = wrap('x'.repeat(30), 10, 2);
    expect(long).toEqual(['x'.repeat(10), 'x'.repeat(9) + '…']);
  });

  it('draws_at_most_max_arrows_segments_and_counts_the_rest', () => {
    const conv = new Conversation().handshake();
    for (let i = 0; i < 10; i++) conv.send('A', TCP_PSH | TCP_ACK, text('x'));
    const l = ladderOf(pcapng(conv.packets));
    const svg = parseXml(renderSvg(l.connections, { maxArrows: 5 }));
    expect(arrows(svg)).toHaveLength(5);
    expect(walk(svg).some((e) => e.text === '⋯ 8 more segments not drawn (tunstack ladder --max-arrows N draws more) ⋯')).toBe(true);
    expect(arrows(parseXml(renderSvg(l.connections)))).toHaveLength(13);
  });

  it('says_so_when_there_is_no_connection', () => {
    const svg = parseXml(renderSvg([]));
    expect(walk(svg).some((e) => e.text === 'No IPv4 TCP connections in this capture.')).toBe(true);
  });
});

describe('HTML page', () => {
  it('has_a_summary_row_and_one_inline_svg_per_connection_plus_the_legend', () => {
    const { p, keyLog } = https();
    const plain = new Conversation({ addr: '198.18.0.1', port: 40200, isn: 5 }, { addr: '198.18.0.2', port: 80, isn: 6 }, 1_764_979_300_000_000_000n)
      .handshake()
      .send('A', TCP_PSH | TCP_ACK, text('GET /echo HTTP/1.1\r\nHost: x\r\n\r\n'))
      .close();
    const l = ladderOf(pcapng([...tlsPackets(p, 1460), ...plain.packets], keyLog));
    expect(l.connections).toHaveLength(2);
    const html = renderHtml(l, 'both.pcapng');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g)!;
    expect(svgs).toHaveLength(3);
    for (const s of svgs) parseXml(s);
    expect(html).toContain('<td><a href="#connection-1">1</a></td><td class="nw">198.18.0.1:43210</td><td class="nw">198.18.0.2:443</td>');
    expect(html).toContain('<td><a href="#connection-2">2</a></td><td class="nw">198.18.0.1:40200</td><td class="nw">198.18.0.2:80</td>');
    expect(html).toMatch(/TLS 1\.3 TLS_AES_128_GCM_SHA256 sni=tunstack\.test \(decrypted \d+ records\)/);
    expect(html).toContain('<section class="connection" id="connection-2">');
    // When each connection started (UTC, µs) and how long it lasted, from the packets' timestamps.
    expect(html).toContain('<td>2025-12-06 00:00:00.000000</td>');
    expect(html).toContain('<td>2025-12-06 00:01:40.000000</td><td class="num">0.600 ms</td>');
    expect(html).toMatch(/pcapng capture · \d+ packets · 2 TCP connections · \d+ TLS key log lines in the capture/);
    // Marker ids stay unique across the inline SVGs of one page.
    const ids = [...html.matchAll(/<marker id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
