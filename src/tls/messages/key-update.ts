// KeyUpdate (RFC 8446 §4.6.3): struct { KeyUpdateRequest request_update; }.

import type { Reader, Writer } from '../codec.js';
import { IllegalParameterError } from '../extensions.js';
import type { KeyUpdate } from './types.js';

export function parseKeyUpdateBody(r: Reader): KeyUpdate {
  const v = r.u8('request_update');
  r.expectEnd('KeyUpdate');
  // RFC 8446 §4.6.3: "If an implementation receives any other value [than 0 or 1], it MUST terminate
  // the connection with an "illegal_parameter" alert."
  if (v > 1) throw new IllegalParameterError(`KeyUpdate request_update ${v}`);
  return { type: 'key_update', updateRequested: v === 1 };
}

export function writeKeyUpdateBody(w: Writer, k: KeyUpdate): void {
  w.u8(k.updateRequested ? 1 : 0);
}
