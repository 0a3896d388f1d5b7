// Finished (RFC 8446 §4.4.4): struct { opaque verify_data[Hash.length]; }.

import { DecodeError, type Reader, type Writer } from '../codec.js';
import type { Finished } from './types.js';

/** `hashLen`, when known, is the negotiated hash's length: any other verify_data length is a decode_error. */
export function parseFinishedBody(r: Reader, hashLen: number | undefined): Finished {
  const verifyData = r.rest().slice();
  if (hashLen !== undefined && verifyData.length !== hashLen) {
    throw new DecodeError(`Finished.verify_data is ${verifyData.length} bytes, hash is ${hashLen}`);
  }
  return { type: 'finished', verifyData };
}

export function writeFinishedBody(w: Writer, f: Finished): void {
  w.bytes(f.verifyData);
}
