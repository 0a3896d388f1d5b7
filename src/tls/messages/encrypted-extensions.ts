// EncryptedExtensions (RFC 8446 §4.3.1): struct { Extension extensions<0..2^16-1>; }.

import type { Reader, Writer } from '../codec.js';
import { parseExtensions, serializeExtensions } from '../extensions.js';
import type { EncryptedExtensions } from './types.js';

export function parseEncryptedExtensionsBody(r: Reader): EncryptedExtensions {
  const extensions = parseExtensions(r, 'encrypted_extensions');
  r.expectEnd('EncryptedExtensions');
  return { type: 'encrypted_extensions', extensions };
}

export function writeEncryptedExtensionsBody(w: Writer, ee: EncryptedExtensions): void {
  serializeExtensions(w, ee.extensions, 'encrypted_extensions');
}
