// The TCB's public types: options, events, the info snapshot. Split from tcb.ts (which
// re-exports them) to keep the state machine's file within the size the layout asks for.

import type { CongestionControl } from './cc/congestion.js';
import type { TcpState } from './state.js';

export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT';

export type TcpEvent =
  | { type: 'state'; from: TcpState; to: TcpState }
  /** The connection reached ESTABLISHED. */
  | { type: 'connected' }
  /** New in-order data can be read. */
  | { type: 'readable' }
  /** Send-buffer space was freed. */
  | { type: 'writable' }
  /** The peer's FIN arrived: after what is buffered, no more data. */
  | { type: 'eof' }
  | { type: 'error'; code: TcpErrorCode; message: string }
  /** The TCB is CLOSED and gone (TIME-WAIT over, LAST-ACK acknowledged, reset or aborted). */
  | { type: 'closed' };

export interface TcbOptions {
  /** Largest segment text we accept: the MSS we announce (MTU - 40). */
  mss: number;
  /**
   * Receive buffer (bytes). Without window scaling the window tops out at 65535 (and the default is
   * 65535); with it (RFC 7323) the window can offer the whole buffer.
   */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** RFC 9293 §3.3.2: MSL; TIME-WAIT lasts 2*MSL. Default 30 s. */
  mslMs?: number;
  /** Delayed-ACK timer (RFC 1122 §4.2.3.2: MUST be less than 0.5 s). Default 40 ms, like Linux. */
  delayedAckMs?: number;
  initialRtoMs?: number;
  minRtoMs?: number;
  maxRtoMs?: number;
  /** Nagle off (RFC 9293 §3.7.4 lets the application disable it). */
  noDelay?: boolean;
  /** RFC 9293 §3.8.5 / RFC 5482: give up when data stays unacknowledged this long. */
  userTimeoutMs?: number;
  /** Retransmissions of data before giving up (Linux tcp_retries2 = 15). */
  maxRetransmits?: number;
  /** SYN (active) and SYN-ACK (passive) retransmissions before giving up (Linux: 6 and 5). */
  synRetries?: number;
  synAckRetries?: number;
  keepAlive?: KeepAliveOptions;
  /** Makes the congestion controller once the MSS is agreed; `initialWindow` (bytes) when the handshake lost a segment. */
  congestionControl?: (mss: number, initialWindow?: number) => CongestionControl;
  /**
   * TSO: new data may go out as super-segments of up to this many octets of data (whole segments),
   * which the link has cut into segmentSize pieces (the kernel does it for a TUN with offloads).
   * 0 (default): off.
   */
  gsoMaxSize?: number;
  /** Offer/accept RFC 7323 window scaling (used only when both SYNs carry it). Default false. */
  windowScaling?: boolean;
  /** Offer/accept RFC 7323 timestamps (RTTM and PAWS; used only when both SYNs carry them). Default false. */
  timestamps?: boolean;
  /** Offer/accept SACK-permitted (RFC 2018) and send SACK blocks for held out-of-order data. Default false. */
  sack?: boolean;
  /**
   * How long a connection the application has let go of (an orphan) may sit in FIN-WAIT-2 waiting
   * for the peer's FIN. RFC 9293 has no such timer; like Linux's tcp_fin_timeout (60 s) it keeps a
   * peer that never closes from holding the entry forever. Default 60 s.
   */
  finWait2TimeoutMs?: number;
}

export interface KeepAliveOptions {
  enabled: boolean;
  /** RFC 1122 §4.2.3.6: the idle interval MUST default to no less than two hours. */
  idleMs?: number;
  intervalMs?: number;
  probes?: number;
}

export interface Endpoints {
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
}

/** A snapshot for status listings. */
export interface TcbInfo {
  state: TcpState;
  sendQueue: number;
  recvQueue: number;
  srttMs: number | undefined;
  rtoMs: number;
  cwnd: number;
  ssthresh: number;
  sndWnd: number;
  rcvWnd: number;
  mss: number;
  retransmits: number;
  bytesRetransmitted: number;
  bytesSent: number;
  bytesReceived: number;
}

/** Loss-recovery state (Tcb.recoveryInfo). */
export interface RecoveryInfo {
  inRecovery: boolean;
  /** RFC 6582 `recover` / RFC 6675 RecoveryPoint, one past: recovery ends when SND.UNA reaches it. */
  recoveryPoint: number;
  highRxt: number;
  rescueRxt: number;
  dupAcks: number;
  /** Separate ranges on the SACK scoreboard. */
  sackedRanges: number;
  /** RFC 6675 pipe (SACK in use), else undefined. */
  pipe: number | undefined;
}
