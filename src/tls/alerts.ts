// TLS alerts (RFC 8446 §6): the wire form, and the internal error a handshake step throws to abort
// with a given alert. The connection catches TlsAlert at its edge, sends the alert and reports
// 'failed' — nothing thrown here ever reaches the socket layer.

import { AlertDescription, AlertLevel, nameOf } from './constants.js';

export type AlertName = keyof typeof AlertDescription;

/** Thrown inside the state machines to abort the handshake/connection with `alert`. */
export class TlsAlert extends Error {
  constructor(
    readonly alert: AlertName,
    readonly reason: string,
  ) {
    super(`${alert}: ${reason}`);
  }
}

/** Shorthand for `throw new TlsAlert(...)` in expression position. */
export function abort(alert: AlertName, reason: string): never {
  throw new TlsAlert(alert, reason);
}

/** RFC 8446 §6: struct { AlertLevel level; AlertDescription description; } — 2 bytes. */
export function encodeAlert(description: AlertDescription, level: AlertLevel = AlertLevel.fatal): Uint8Array {
  return new Uint8Array([level, description]);
}

export type ParsedAlert = { level: number; description: number; name: string };

/** An alert body is exactly two bytes (RFC 8446 §6); anything else is a decode_error. */
export function parseAlert(body: Uint8Array): ParsedAlert | undefined {
  if (body.length !== 2) return undefined;
  const description = body[1]!;
  return { level: body[0]!, description, name: alertName(description) };
}

export function alertName(description: number): string {
  return nameOf(AlertDescription, description);
}

export function alertCode(name: AlertName): AlertDescription {
  return AlertDescription[name];
}
