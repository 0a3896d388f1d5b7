// The scripted peer for TCB tests: segment templates from the peer (spread with overrides),
// fixtures that bring a TCB into each RFC 9293 state, and send/expectSent/expectNothing helpers.
// Time is a plain number (the virtual clock) passed as `now`.

import { expect } from 'vitest';
import { Tcb, type TcbOptions, type TcpEvent } from '../../src/tcp/tcb.js';
import {
  describeFlags,
  TCP_ACK,
  TCP_FIN,
  TCP_SYN,
  type TcpOptions,
  type TcpRepr,
  type TcpSegment,
} from '../../src/wire/tcp.js';

export const LOCAL_ADDR = 0xc6120002; // 198.18.0.2 (tunstack)
export const REMOTE_ADDR = 0xc6120001; // 198.18.0.1 (the scripted peer)
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 40000;
export const ENDS = { localAddr: LOCAL_ADDR, localPort: LOCAL_PORT, remoteAddr: REMOTE_ADDR, remotePort: REMOTE_PORT };

export const MSS = 1460;
/** Our ISS. */
export const ISS = 1000;
/** The peer's ISS (our IRS). */
export const IRS = 5_000_000;
/** Our first data octet (SND.NXT right after the handshake). */
export const SND0 = ISS + 1;
/** The peer's first data octet (RCV.NXT right after the handshake). */
export const RCV0 = IRS + 1;
/** Handshake round trip used by the fixtures: one RTT sample of 100 ms → SRTT 100, RTTVAR 50, RTO 300. */
export const HANDSHAKE_RTT = 100;

/** Sequence arithmetic for expectations (mod 2^32). */
export const s = (n: number): number => n >>> 0;

/** `n` deterministic bytes, byte i = (start + i) & 0xff. */
export function bytes(n: number, start = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

/** What the peer sends: a parsed-segment shape with defaults; `payload` may be a length. */
export interface PeerSeg {
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array | number;
  /** Bytes of `payload` when given as a length start at this pattern offset. */
  fill?: number;
}

export function seg(p: PeerSeg): TcpSegment {
  const payload =
    typeof p.payload === 'number' ? bytes(p.payload, p.fill ?? 0) : (p.payload ?? new Uint8Array(0));
  return {
    srcPort: REMOTE_PORT,
    dstPort: LOCAL_PORT,
    seq: s(p.seq),
    ack: s(p.ack ?? 0),
    headerLength: 20,
    flags: p.flags,
    window: p.window ?? 65535,
    checksum: 0,
    urgentPointer: 0,
    options: p.options ?? {},
    payload,
  };
}

// ---- templates (spread with overrides)

/** The peer's SYN, as Linux sends it: MSS, SACK-permitted, timestamps, window scale. */
export const PEER_SYN: PeerSeg = {
  seq: IRS,
  flags: TCP_SYN,
  window: 64240,
  options: { mss: 1460, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 }, windowScale: 7 },
};
/** The peer's SYN-ACK to our active open. */
export const PEER_SYN_ACK: PeerSeg = { seq: IRS, ack: SND0, flags: TCP_SYN | TCP_ACK, window: 65535, options: { mss: 1460 } };
/** A pure ACK from the peer in the established connection (nothing new either way). */
export const PEER_ACK: PeerSeg = { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 65535 };
/** The peer's FIN (no data before it). */
export const PEER_FIN: PeerSeg = { seq: RCV0, ack: SND0, flags: TCP_FIN | TCP_ACK, window: 65535 };

// ---- driving the TCB

export function send(tcb: Tcb, t: number, p: PeerSeg | TcpSegment): void {
  tcb.handleSegment(t, 'headerLength' in p ? p : seg(p));
}

/** A segment we expect to see, only the fields given are compared; `len` is the payload length. */
export interface Expected {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  len?: number;
  options?: TcpOptions | undefined;
  payload?: Uint8Array;
}

function view(r: TcpRepr, keys: Set<string>): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  if (keys.has('seq')) v.seq = r.seq;
  if (keys.has('ack')) v.ack = r.ack;
  if (keys.has('flags')) v.flags = describeFlags(r.flags);
  if (keys.has('window')) v.window = r.window;
  if (keys.has('len')) v.len = r.payload?.length ?? 0;
  if (keys.has('options')) v.options = r.options;
  if (keys.has('payload')) v.payload = Array.from(r.payload ?? []);
  return v;
}

/** Polls one segment and checks it against `exp`; returns it. */
export function expectSent(tcb: Tcb, t: number, exp: Expected): TcpRepr {
  const r = tcb.pollTransmit(t);
  if (r === undefined) throw new Error(`expected a segment ${JSON.stringify(exp)}, nothing was sent`);
  const keys = new Set(Object.keys(exp));
  const want: Record<string, unknown> = { ...exp };
  if (exp.seq !== undefined) want.seq = s(exp.seq);
  if (exp.ack !== undefined) want.ack = s(exp.ack);
  if (exp.flags !== undefined) want.flags = describeFlags(exp.flags);
  if (exp.payload !== undefined) want.payload = Array.from(exp.payload);
  expect(view(r, keys)).toEqual(want);
  return r;
}

export function expectNothing(tcb: Tcb, t: number): void {
  const r = tcb.pollTransmit(t);
  if (r !== undefined) {
    throw new Error(
      `expected nothing, got seq=${r.seq} ack=${r.ack} ${describeFlags(r.flags)} win=${r.window} len=${r.payload?.length ?? 0}`,
    );
  }
}

/** Every segment the TCB has to send now. */
export function sentAll(tcb: Tcb, t: number): TcpRepr[] {
  const out: TcpRepr[] = [];
  for (let r = tcb.pollTransmit(t); r !== undefined; r = tcb.pollTransmit(t)) out.push(r);
  return out;
}

export function events(tcb: Tcb): TcpEvent[] {
  const out: TcpEvent[] = [];
  for (let e = tcb.pollEvent(); e !== undefined; e = tcb.pollEvent()) out.push(e);
  return out;
}

/** Events as short strings: 'SYN-SENT→ESTABLISHED', 'connected', 'error:ECONNRESET' … */
export function eventNames(tcb: Tcb): string[] {
  return events(tcb).map((e) =>
    e.type === 'state' ? `${e.from}→${e.to}` : e.type === 'error' ? `error:${e.code}` : e.type,
  );
}

/** All in-order data the application can read now, concatenated. */
export function readAll(tcb: Tcb): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let d = tcb.read(); d !== undefined; d = tcb.read()) parts.push(d);
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

// ---- fixtures: a TCB in each state. Each returns the TCB and the clock after the setup.

export interface Fixture {
  tcb: Tcb;
  t: number;
}

export function newTcb(passive: boolean, opts: Partial<TcbOptions> = {}): Tcb {
  return new Tcb(ENDS, passive, { mss: MSS, ...opts });
}

/** Passive open at t=0: the peer's SYN arrived (LISTEN → SYN-RECEIVED), our SYN-ACK went out. */
export function synReceivedTcb(opts: Partial<TcbOptions> = {}, syn: Partial<PeerSeg> = {}): Fixture {
  const tcb = newTcb(true, opts);
  tcb.openPassive(0, ISS, seg({ ...PEER_SYN, ...syn }));
  expectSent(tcb, 0, { seq: ISS, flags: TCP_SYN | TCP_ACK });
  expectNothing(tcb, 0);
  events(tcb);
  return { tcb, t: 0 };
}

/** Active open at t=0: our SYN went out (CLOSED → SYN-SENT). */
export function synSentTcb(opts: Partial<TcbOptions> = {}): Fixture {
  const tcb = newTcb(false, opts);
  tcb.openActive(0, ISS);
  expectSent(tcb, 0, { seq: ISS, flags: TCP_SYN });
  expectNothing(tcb, 0);
  events(tcb);
  return { tcb, t: 0 };
}

export interface EstablishedOptions {
  opts?: Partial<TcbOptions>;
  /** The window in the peer's SYN and handshake ACK (default: 64240 in the SYN, 65535 in the ACK). */
  peerWindow?: number;
  /** The MSS option in the peer's SYN (default 1460; null: no option). */
  peerMss?: number | null;
}

/**
 * A passive connection in ESTABLISHED at t=HANDSHAKE_RTT: SYN at 0, SYN-ACK at 0, the peer's ACK at
 * 100 ms (one RTT sample: SRTT 100, RTTVAR 50, RTO 300). SND.NXT = SND0, RCV.NXT = RCV0, no events left.
 */
export function establishedTcb(e: EstablishedOptions = {}): Fixture {
  const options: TcpOptions = e.peerMss === null ? {} : { mss: e.peerMss ?? 1460 };
  const { tcb } = synReceivedTcb(e.opts, { options, ...(e.peerWindow !== undefined ? { window: e.peerWindow } : {}) });
  const t = HANDSHAKE_RTT;
  send(tcb, t, { ...PEER_ACK, window: e.peerWindow ?? 65535 });
  expect(tcb.state).toBe('ESTABLISHED');
  expectNothing(tcb, t);
  events(tcb);
  return { tcb, t };
}

/** ESTABLISHED, then close(): FIN-WAIT-1 with our FIN <SEQ=SND0> sent (not yet acknowledged). */
export function finWait1Tcb(e: EstablishedOptions = {}): Fixture {
  const { tcb, t } = establishedTcb(e);
  tcb.close(t);
  expectSent(tcb, t, { seq: SND0, ack: RCV0, flags: TCP_FIN | TCP_ACK });
  expectNothing(tcb, t);
  events(tcb);
  return { tcb, t };
}

/** FIN-WAIT-2: our FIN acknowledged at t+10. */
export function finWait2Tcb(e: EstablishedOptions = {}): Fixture {
  const f = finWait1Tcb(e);
  const t = f.t + 10;
  send(f.tcb, t, { ...PEER_ACK, ack: SND0 + 1 });
  expect(f.tcb.state).toBe('FIN-WAIT-2');
  expectNothing(f.tcb, t);
  events(f.tcb);
  return { tcb: f.tcb, t };
}

/** TIME-WAIT: the peer's FIN <SEQ=RCV0> arrived in FIN-WAIT-2 at t+10 and was acknowledged. */
export function timeWaitTcb(e: EstablishedOptions = {}): Fixture {
  const f = finWait2Tcb(e);
  const t = f.t + 10;
  send(f.tcb, t, { ...PEER_FIN, ack: SND0 + 1 });
  expect(f.tcb.state).toBe('TIME-WAIT');
  expectSent(f.tcb, t, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK });
  expectNothing(f.tcb, t);
  events(f.tcb);
  return { tcb: f.tcb, t };
}

/** CLOSE-WAIT: the peer's FIN <SEQ=RCV0> arrived at t+10 and was acknowledged; 'eof' drained. */
export function closeWaitTcb(e: EstablishedOptions = {}): Fixture {
  const f = establishedTcb(e);
  const t = f.t + 10;
  send(f.tcb, t, PEER_FIN);
  expect(f.tcb.state).toBe('CLOSE-WAIT');
  expectSent(f.tcb, t, { seq: SND0, ack: RCV0 + 1, flags: TCP_ACK });
  expectNothing(f.tcb, t);
  events(f.tcb);
  return { tcb: f.tcb, t };
}

/** LAST-ACK: close() in CLOSE-WAIT, our FIN <SEQ=SND0> sent. */
export function lastAckTcb(e: EstablishedOptions = {}): Fixture {
  const f = closeWaitTcb(e);
  f.tcb.close(f.t);
  expectSent(f.tcb, f.t, { seq: SND0, ack: RCV0 + 1, flags: TCP_FIN | TCP_ACK });
  expectNothing(f.tcb, f.t);
  events(f.tcb);
  return f;
}

/** CLOSING: in FIN-WAIT-1 the peer's FIN arrived without acknowledging ours (simultaneous close). */
export function closingTcb(e: EstablishedOptions = {}): Fixture {
  const f = finWait1Tcb(e);
  const t = f.t + 10;
  send(f.tcb, t, PEER_FIN);
  expect(f.tcb.state).toBe('CLOSING');
  expectSent(f.tcb, t, { seq: SND0 + 1, ack: RCV0 + 1, flags: TCP_ACK });
  expectNothing(f.tcb, t);
  events(f.tcb);
  return { tcb: f.tcb, t };
}

/** Runs the TCB's timers at its next deadline (which must exist); returns that time. */
export function fireNextTimer(tcb: Tcb): number {
  const at = tcb.pollTimeout();
  if (at === undefined) throw new Error('no timer armed');
  tcb.handleTimeout(at);
  return at;
}
