// The send buffer: bytes the application wrote that are not yet acknowledged. Offset 0 is the
// oldest unacknowledged data octet (at sequence number `dataStart` in the TCB).

import { ByteRing } from './ring.js';

export class SendBuffer extends ByteRing {}
