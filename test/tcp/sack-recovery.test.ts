// The sender's side of SACK (RFC 2018 §5, RFC 6675): the scoreboard, and recovery that resends only
// the holes the peer reports.

import { describe, expect, it } from 'vitest';
import { Scoreboard } from '../../src/tcp/sack.js';
import { Tcb } from '../../src/tcp/tcb.js';
import { NewReno } from '../../src/tcp/cc/newreno.js';
import { TCP_ACK } from '../../src/wire/tcp.js';
import { ENDS, ISS, MSS, PEER_SYN, RCV0, send, sentAll, seg, SND0 } from './helpers.js';

describe('Scoreboard', () => {
  it('merges_blocks_ignores_bogus_ones_and_finds_holes', () => {
    const sb = new Scoreboard();
    expect(sb.update([[200, 300]], 100, 1000)).toBe(true);
    expect(sb.update([[250, 300]], 100, 1000)).toBe(false); // nothing new
    expect(sb.update([[500, 600], [300, 400]], 100, 1000)).toBe(true);
    expect(sb.update([[50, 90], [1000, 1100], [700, 650]], 100, 1000)).toBe(false); // below SND.UNA, beyond SND.MAX, inverted
    expect(sb.sackedBytes).toBe(300); // [200,400) and [500,600)
    expect(sb.nextHole(100, 1000)).toEqual([100, 200]);
    expect(sb.nextHole(100, 50)).toEqual([100, 150]);
    expect(sb.nextHole(200, 1000)).toEqual([400, 500]);
    expect(sb.nextHole(500, 1000)).toBeUndefined(); // nothing SACKed above 600: not known lost
    sb.advance(450);
    expect(sb.sackedBytes).toBe(100);
    expect(sb.highest).toBe(600);
    sb.clear();
    expect(sb.size).toBe(0);
  });

  it('keeps_at_most_64_ranges_whatever_the_peer_reports', () => {
    const sb = new Scoreboard();
    for (let i = 0; i < 1000; i++) sb.update([[100 + 4 * i, 101 + 4 * i]], 100, 100_000);
    expect(sb.size).toBe(64);
  });

  it('works_across_sequence_wraparound', () => {
    const sb = new Scoreboard();
    const una = 0xffffff00;
    sb.update([[(una + 0x200) >>> 0, (una + 0x300) >>> 0]], una, (una + 0x1000) >>> 0);
    expect(sb.nextHole(una, 10_000)).toEqual([una, (una + 0x200) >>> 0]);
  });
});

describe('SACK-based recovery', () => {
  /** ESTABLISHED with SACK in use (the peer's SYN offered it), 10 full segments in flight (IW 20). */
  function withFlight(): { tcb: Tcb; t: number } {
    const tcb = new Tcb(ENDS, true, { mss: MSS, sack: true, congestionControl: (m) => new NewReno(m, 20 * m) });
    tcb.openPassive(0, ISS, seg({ ...PEER_SYN, options: { mss: 1460, sackPermitted: true } }));
    sentAll(tcb, 0);
    send(tcb, 10, { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 65535 });
    tcb.write(new Uint8Array(10 * MSS));
    const burst = sentAll(tcb, 10);
    expect(burst.map((b) => b.payload?.length)).toEqual(Array(10).fill(MSS));
    return { tcb, t: 10 };
  }

  it('resends_only_the_holes_the_peer_reports', () => {
    const { tcb, t } = withFlight();
    const una = SND0; // the first segment of the burst
    const segStart = (i: number) => (una + i * MSS) >>> 0;
    // Segments 0 and 3 are lost; the peer SACKs 1–2 and 4–9 over three duplicate ACKs.
    const sack = (blocks: Array<[number, number]>) => ({ seq: RCV0, ack: una, flags: TCP_ACK, window: 65535, options: { sack: blocks } });
    send(tcb, t + 5, sack([[segStart(1), segStart(2)]]));
    send(tcb, t + 6, sack([[segStart(1), segStart(3)]]));
    send(tcb, t + 7, sack([[segStart(4), segStart(6)], [segStart(1), segStart(3)]]));
    const r1 = sentAll(tcb, t + 7);
    expect(r1.map((r) => r.seq)).toEqual([segStart(0)]); // fast retransmit: the first hole
    send(tcb, t + 8, sack([[segStart(4), segStart(8)], [segStart(1), segStart(3)]]));
    const r2 = sentAll(tcb, t + 8);
    expect(r2.map((r) => r.seq)).toContain(segStart(3)); // the next hole, not segments 1–2
    expect(r2.map((r) => r.seq)).not.toContain(segStart(1));
    expect(tcb.info().bytesRetransmitted).toBe(2 * MSS);
  });
});
