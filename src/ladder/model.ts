// The data model of a ladder diagram: connections with two endpoints (A opened it, B answered) and
// their segments in time order, each with relative seq/ack and the TLS/HTTP messages it completed.

export type Side = 'A' | 'B';

export interface Endpoint {
  addr: string;
  port: number;
}

/** A TLS message or record found in a byte stream. */
export interface TlsNote {
  kind: 'tls';
  /** "ClientHello", "Finished", "Alert", "ChangeCipherSpec", "Application Data", "encrypted handshake" … */
  message: string;
  /** "TLS_AES_128_GCM_SHA256 key_share=x25519", "warning close_notify", "74 B" … */
  detail: string;
  /** Read in the clear, decrypted with the key log, or still encrypted (no key for it). */
  protection: 'plaintext' | 'decrypted' | 'encrypted';
}

/** The first line of an HTTP request or response found in a stream (in TLS application data or plain TCP). */
export interface HttpNote {
  kind: 'http';
  line: string;
  /** True when it was found inside decrypted TLS. */
  overTls: boolean;
}

export type Note = TlsNote | HttpNote;

export interface SegmentEvent {
  /** The capture's frame number (1-based). */
  frame: number;
  /** Nanoseconds since the epoch (undefined for a packet without a timestamp). */
  timeNs: bigint | undefined;
  /** Milliseconds since the connection's first packet. */
  relMs: number;
  from: Side;
  /** The TCP flag bits. */
  flags: number;
  /** Relative sequence number (0 = the sender's ISN, as Wireshark shows it). */
  seq: number;
  /** Relative acknowledgment number when ACK is set. */
  ack: number | undefined;
  /** Payload bytes on the wire (for a packet cut by the snap length, the original length). */
  len: number;
  window: number;
  /** The segment carries sequence space (data, SYN or FIN) the capture had already seen the sender send. */
  retransmission: boolean;
  /**
   * The segment fills a hole below the highest sequence number the sender had sent, with bytes the capture
   * had not seen: reordered on the way, or a retransmission of a segment lost before the capture point.
   */
  outOfOrder: boolean;
  /** For a duplicate ACK (no data, same ack and window as this side's previous ACK): its count, 1 = first duplicate; else 0. */
  dupAck: number;
  /** SACK blocks (RFC 2018), relative to the other side's ISN like `ack`. */
  sack: [number, number][];
  /** SYN options worth showing: "MSS=1460 WS=7 SACK_PERM TS". */
  options: string;
  /** The TCP states (RFC 9293 names) this segment moved either end into, as inferred from the capture. */
  states: Partial<Record<Side, string>>;
  /** TLS messages and HTTP lines whose last byte arrived in this segment, in stream order. */
  notes: Note[];
  /** pcapng comments on the packet (e.g. a state change). */
  comments: string[];
}

export interface ConnectionSummary {
  packets: number;
  /** Payload bytes A→B and B→A, retransmissions included. */
  bytesAtoB: number;
  bytesBtoA: number;
  retransmissions: number;
  outOfOrder: number;
  resets: number;
  /** SYN, SYN-ACK and the ACK of the SYN-ACK were all seen. */
  handshake: 'complete' | 'partial' | 'not captured';
  /** How it ended: both FINs, a RST, or still open when the capture stopped. */
  ending: 'fin' | 'rst' | 'open';
  /** Bytes of the streams that the capture is missing (holes), so their messages could not be read. */
  missingBytes: number;
}

export interface TlsInfo {
  version: string;
  suite?: string;
  serverName?: string;
  alpn?: string;
  /** Secrets for this connection's client random were in the capture's key log. */
  keysFound: boolean;
  /** Records that were decrypted, and protected records that stayed opaque. */
  decryptedRecords: number;
  opaqueRecords: number;
}

export interface Connection {
  /** 1-based, in order of first packet. */
  id: number;
  /** A: the endpoint that sent the SYN (or, when no SYN was captured, the one with the higher port). */
  a: Endpoint;
  b: Endpoint;
  /** False when the SYN was not in the capture and A/B were guessed. */
  initiatorKnown: boolean;
  startNs: bigint | undefined;
  endNs: bigint | undefined;
  segments: SegmentEvent[];
  tls?: TlsInfo;
  summary: ConnectionSummary;
}

export interface Ladder {
  format: 'pcapng' | 'pcap';
  packets: number;
  connections: Connection[];
  /** Packets that were not IPv4 TCP, or could not be read, by reason. */
  skipped: Record<string, number>;
  /** Key log lines found in the capture's Decryption Secrets Blocks. */
  keyLogLines: number;
  /** Problems with the file itself (damage, truncation), as sentences. */
  problems: string[];
}
