// Certificate (RFC 8446 §4.4.2): a request context and a chain of X.509 entries, each with extensions.

import type { Reader, Writer } from '../codec.js';
import { parseExtensions, serializeExtensions } from '../extensions.js';
import type { Certificate, CertificateEntry } from './types.js';

export function parseCertificateBody(r: Reader): Certificate {
  // struct { opaque certificate_request_context<0..2^8-1>; CertificateEntry certificate_list<0..2^24-1>; }
  // CertificateEntry: { opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>; } (X509 type only:
  // RawPublicKey is never negotiated by tunstack).
  const requestContext = r.vec8('certificate_request_context').slice();
  const list = r.sub24('certificate_list');
  const entries: CertificateEntry[] = [];
  while (!list.atEnd()) {
    const data = list.vec24('cert_data', 1).slice();
    const extensions = parseExtensions(list, 'certificate');
    entries.push({ data, extensions });
  }
  r.expectEnd('Certificate');
  return { type: 'certificate', requestContext, entries };
}

export function writeCertificateBody(w: Writer, c: Certificate): void {
  w.opaque8(c.requestContext);
  w.vec24(() => {
    for (const e of c.entries) {
      w.opaque24(e.data);
      serializeExtensions(w, e.extensions, 'certificate');
    }
  });
}
