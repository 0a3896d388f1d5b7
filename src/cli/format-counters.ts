// Renders the IP layer's counters as a few readable lines.

import { totalAccepted, totalDropped, type IpCounters } from '../ip/counters.js';

export function formatCounters(c: IpCounters): string {
  const drops = Object.entries(c.dropped)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    `  received ${c.rxPackets} packets (${c.rxBytes} bytes): accepted ${totalAccepted(c)} ` +
      `(icmp ${c.accepted.icmp}, udp ${c.accepted.udp}, tcp ${c.accepted.tcp}), dropped ${totalDropped(c)}` +
      (drops ? ` (${drops})` : ''),
    `  sent ${c.txPackets} packets (${c.txBytes} bytes): echo replies ${c.echoRepliesSent}, ` +
      `ICMP errors ${c.icmpErrorsSent} (rate-limited ${c.icmpErrorsRateLimited}), TCP resets ${c.tcpResetsSent}`,
  ].join('\n');
}
