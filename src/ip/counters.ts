// What the IPv4 layer saw and did, as plain numbers. Every received packet, and every datagram
// reassembled from fragments, is counted once as accepted (by kind) or dropped (by reason):
// rxPackets + reassembled === sum(accepted) + sum(dropped).

export type DropReason =
  | 'ip-truncated'
  | 'ip-bad-version'
  | 'ip-bad-header-length'
  | 'ip-bad-total-length'
  | 'ip-bad-checksum'
  | 'ip-bad-fragment'
  | 'ip-fragment-bad-length'
  | 'ip-fragment-overlap'
  | 'not-for-us'
  | 'martian-source'
  | 'icmp-truncated'
  | 'icmp-bad-checksum'
  | 'udp-truncated'
  | 'udp-bad-length'
  | 'udp-bad-checksum'
  | 'tcp-truncated'
  | 'tcp-bad-data-offset'
  | 'tcp-bad-checksum'
  | 'tcp-bad-option'
  | 'tcp-bad-flags'
  | 'unknown-protocol';

/** 'fragment': taken into reassembly (the datagram it completes is counted again by its protocol). */
export type AcceptedKind = 'icmp' | 'udp' | 'tcp' | 'fragment';

export interface IpCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  accepted: Record<AcceptedKind, number>;
  dropped: Partial<Record<DropReason, number>>;
  reassembled: number;
  reassemblyTimeouts: number;
  reassemblyEvictions: number;
  fragmentsSent: number;
  echoRepliesSent: number;
  icmpErrorsSent: number;
  icmpErrorsRateLimited: number;
  tcpResetsSent: number;
}

export function newCounters(): IpCounters {
  return {
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    accepted: { icmp: 0, udp: 0, tcp: 0, fragment: 0 },
    dropped: {},
    reassembled: 0,
    reassemblyTimeouts: 0,
    reassemblyEvictions: 0,
    fragmentsSent: 0,
    echoRepliesSent: 0,
    icmpErrorsSent: 0,
    icmpErrorsRateLimited: 0,
    tcpResetsSent: 0,
  };
}

export function totalDropped(c: IpCounters): number {
  let n = 0;
  for (const v of Object.values(c.dropped)) n += v ?? 0;
  return n;
}

export function totalAccepted(c: IpCounters): number {
  return c.accepted.icmp + c.accepted.udp + c.accepted.tcp + c.accepted.fragment;
}

/** A deep copy, so callers can diff snapshots. */
export function snapshotCounters(c: IpCounters): IpCounters {
  return { ...c, accepted: { ...c.accepted }, dropped: { ...c.dropped } };
}
