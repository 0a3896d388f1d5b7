// NewSessionTicket (RFC 8446 §4.6.1): lifetime, age_add, nonce, ticket and extensions (early_data).

import type { Reader, Writer } from '../codec.js';
import { parseExtensions, serializeExtensions } from '../extensions.js';
import type { NewSessionTicket } from './types.js';

export function parseNewSessionTicketBody(r: Reader): NewSessionTicket {
  // struct { uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>;
  //          opaque ticket<1..2^16-1>; Extension extensions<0..2^16-2>; } NewSessionTicket;
  // A lifetime above 604800 is not rejected here: "Clients MUST NOT cache tickets for longer than
  // 7 days" — the client clamps.
  const lifetime = r.u32('ticket_lifetime');
  const ageAdd = r.u32('ticket_age_add');
  const nonce = r.vec8('ticket_nonce').slice();
  const ticket = r.vec16('ticket', 1).slice();
  const extensions = parseExtensions(r, 'new_session_ticket');
  r.expectEnd('NewSessionTicket');
  return { type: 'new_session_ticket', lifetime, ageAdd, nonce, ticket, extensions };
}

export function writeNewSessionTicketBody(w: Writer, t: NewSessionTicket): void {
  w.u32(t.lifetime);
  w.u32(t.ageAdd);
  w.opaque8(t.nonce);
  w.opaque16(t.ticket);
  serializeExtensions(w, t.extensions, 'new_session_ticket');
}
