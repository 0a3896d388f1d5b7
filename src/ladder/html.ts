// Renders a ladder model as one standalone HTML page: what the capture holds, a table of its
// connections, and each connection's diagram as inline SVG. No scripts, no external resources.

import type { Connection, Ladder } from './model.js';
import { renderConnectionSvg, renderLegendSvg, type RenderOptions } from './svg.js';
import { endpointText, escapeXml, startText } from './text.js';

const CSS = `
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 24px; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
td.nw { white-space: nowrap; }
.legend { margin-top: 16px; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.facts { color: #444; font-size: 13px; }
.problem { color: #b00020; }
section.connection svg, .legend svg { background: #fff; border: 1px solid #d0d7de; max-width: 100%; height: auto; }
`;

function tlsCell(c: Connection): string {
  const t = c.tls;
  if (t === undefined) return '—';
  const keys = t.keysFound ? `decrypted ${t.decryptedRecords} record${t.decryptedRecords === 1 ? '' : 's'}` : 'no keys';
  return `${t.version}${t.suite ? ' ' + t.suite : ''}${t.serverName ? ' sni=' + t.serverName : ''} (${keys})`;
}

function durationText(c: Connection): string {
  if (c.startNs === undefined || c.endNs === undefined) return '—';
  const ms = Number(c.endNs - c.startNs) / 1e6;
  return ms < 1000 ? `${ms.toFixed(3)} ms` : `${(ms / 1000).toFixed(3)} s`;
}

function endingText(c: Connection): string {
  return c.summary.ending === 'fin' ? 'FIN' : c.summary.ending === 'rst' ? 'RST' : 'open';
}

/** The whole page. `source` is the capture's name as the user gave it (shown, escaped). */
export function renderHtml(ladder: Ladder, source: string, connections: readonly Connection[] = ladder.connections, opts: RenderOptions = {}): string {
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en"><head><meta charset="utf-8">');
  out.push(`<title>${escapeXml(`Ladder diagrams — ${source}`)}</title>`);
  out.push(`<style>${CSS}</style></head><body>`);
  out.push(`<h1>${escapeXml(`Ladder diagrams of ${source}`)}</h1>`);
  const skipped = Object.entries(ladder.skipped)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  const facts = [
    `${ladder.format} capture`,
    `${ladder.packets} packet${ladder.packets === 1 ? '' : 's'}`,
    `${ladder.connections.length} TCP connection${ladder.connections.length === 1 ? '' : 's'}`,
    ladder.keyLogLines > 0 ? `${ladder.keyLogLines} TLS key log line${ladder.keyLogLines === 1 ? '' : 's'} in the capture` : 'no TLS key log in the capture',
  ];
  if (skipped !== '') facts.push(`not drawn: ${skipped}`);
  out.push(`<p class="facts">${escapeXml(facts.join(' · '))}</p>`);
  for (const p of ladder.problems) out.push(`<p class="problem">${escapeXml(p)}</p>`);

  if (connections.length > 0) {
    out.push('<table><thead><tr><th>#</th><th>A (opened)</th><th>B (answered)</th><th>start (UTC)</th><th>duration</th><th>packets</th><th>bytes A→B</th><th>bytes B→A</th><th>handshake</th><th>end</th><th>retrans.</th><th>out of order</th><th>TLS</th></tr></thead><tbody>');
    for (const c of connections) {
      const s = c.summary;
      out.push(
        `<tr><td><a href="#connection-${c.id}">${c.id}</a></td><td class="nw">${escapeXml(endpointText(c, 'A'))}</td><td class="nw">${escapeXml(endpointText(c, 'B'))}</td>` +
          `<td>${escapeXml(startText(c))}</td><td class="num">${escapeXml(durationText(c))}</td><td class="num">${s.packets}</td><td class="num">${s.bytesAtoB}</td><td class="num">${s.bytesBtoA}</td><td>${s.handshake}</td><td>${endingText(c)}</td>` +
          `<td class="num">${s.retransmissions}</td><td class="num">${s.outOfOrder}</td><td>${escapeXml(tlsCell(c))}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  } else {
    out.push('<p>No IPv4 TCP connections in this capture.</p>');
  }
  out.push(`<div class="legend">${renderLegendSvg()}</div>`);
  for (const c of connections) {
    out.push(`<section class="connection" id="connection-${c.id}"><h2>${escapeXml(`Connection ${c.id}: ${endpointText(c, 'A')} → ${endpointText(c, 'B')}`)}</h2>`);
    out.push(renderConnectionSvg(c, opts));
    out.push('</section>');
  }
  out.push('</body></html>');
  return out.join('\n') + '\n';
}
