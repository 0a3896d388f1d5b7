// EndOfEarlyData (RFC 8446 §4.5): struct {} — an empty body.

import type { Reader } from '../codec.js';
import type { EndOfEarlyData } from './types.js';

export function parseEndOfEarlyDataBody(r: Reader): EndOfEarlyData {
  r.expectEnd('EndOfEarlyData');
  return { type: 'end_of_early_data' };
}
