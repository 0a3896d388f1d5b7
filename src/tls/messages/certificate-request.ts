// CertificateRequest (RFC 8446 §4.3.2): a context and extensions (signature_algorithms is required;
// its absence is the state machine's missing_extension).

import { DecodeError, type Reader, type Writer } from '../codec.js';
import { parseExtensions, serializeExtensions } from '../extensions.js';
import type { CertificateRequest } from './types.js';

export function parseCertificateRequestBody(r: Reader): CertificateRequest {
  // struct { opaque certificate_request_context<0..2^8-1>; Extension extensions<2..2^16-1>; }
  const requestContext = r.vec8('certificate_request_context').slice();
  const extensions = parseExtensions(r, 'certificate_request');
  if (extensions.length === 0) throw new DecodeError('CertificateRequest.extensions shorter than 2');
  r.expectEnd('CertificateRequest');
  return { type: 'certificate_request', requestContext, extensions };
}

export function writeCertificateRequestBody(w: Writer, cr: CertificateRequest): void {
  w.opaque8(cr.requestContext);
  serializeExtensions(w, cr.extensions, 'certificate_request');
}
