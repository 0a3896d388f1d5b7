// The TCP connection states with their RFC 9293 names (§3.3.2), and the transitions the state
// diagram (RFC 9293 Figure 6, plus simultaneous open/close and RST) allows.

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

/** RFC 9293 §3.3.2: the states after the connection is synchronized (the handshake completed at least one way). */
export function isSynchronized(s: TcpState): boolean {
  return s !== 'CLOSED' && s !== 'LISTEN' && s !== 'SYN-SENT' && s !== 'SYN-RECEIVED';
}

/** States in which we may still send data. */
export function canSend(s: TcpState): boolean {
  return s === 'ESTABLISHED' || s === 'CLOSE-WAIT';
}

/** States in which data from the peer is still accepted (RFC 9293 §3.10.7.4, seventh). */
export function canReceive(s: TcpState): boolean {
  return s === 'ESTABLISHED' || s === 'FIN-WAIT-1' || s === 'FIN-WAIT-2';
}

const ALLOWED: Record<TcpState, readonly TcpState[]> = {
  CLOSED: ['LISTEN', 'SYN-SENT', 'SYN-RECEIVED'],
  LISTEN: ['SYN-RECEIVED', 'SYN-SENT', 'CLOSED'],
  'SYN-SENT': ['SYN-RECEIVED', 'ESTABLISHED', 'CLOSED'],
  'SYN-RECEIVED': ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSE-WAIT', 'LISTEN', 'CLOSED'],
  ESTABLISHED: ['FIN-WAIT-1', 'CLOSE-WAIT', 'CLOSED'],
  'FIN-WAIT-1': ['FIN-WAIT-2', 'CLOSING', 'TIME-WAIT', 'CLOSED'],
  'FIN-WAIT-2': ['TIME-WAIT', 'CLOSED'],
  'CLOSE-WAIT': ['LAST-ACK', 'CLOSED'],
  CLOSING: ['TIME-WAIT', 'CLOSED'],
  'LAST-ACK': ['CLOSED'],
  'TIME-WAIT': ['CLOSED'],
};

export function isAllowedTransition(from: TcpState, to: TcpState): boolean {
  return ALLOWED[from].includes(to);
}
