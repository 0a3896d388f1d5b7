// CertificateVerify (RFC 8446 §4.4.3): struct { SignatureScheme algorithm; opaque signature<0..2^16-1>; }.

import type { Reader, Writer } from '../codec.js';
import type { CertificateVerify } from './types.js';

export function parseCertificateVerifyBody(r: Reader): CertificateVerify {
  const scheme = r.u16('algorithm');
  const signature = r.vec16('signature').slice();
  r.expectEnd('CertificateVerify');
  return { type: 'certificate_verify', scheme, signature };
}

export function writeCertificateVerifyBody(w: Writer, cv: CertificateVerify): void {
  w.u16(cv.scheme);
  w.opaque16(cv.signature);
}
