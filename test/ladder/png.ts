// Reads a PNG well enough to check a screenshot (PNG spec, ISO/IEC 15948): signature, chunk CRCs,
// IHDR, and the 8-bit RGB/RGBA pixels after undoing the per-row filters — so a test can count how
// much of the picture is coloured ink rather than trust the file size.

import { inflateSync } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngInfo {
  width: number;
  height: number;
  /** Pixels whose channels differ by more than 60 (not white, grey or black): the diagram's colours. */
  colouredPixels: number;
  /** Pixels darker than light grey (text and lines of any colour). */
  inkPixels: number;
}

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's --screenshot writes); throws on anything else. */
export function inspectPng(file: Uint8Array): PngInfo {
  if (!SIGNATURE.every((b, i) => file[i] === b)) throw new Error('not a PNG: bad signature');
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (off + 12 <= file.length) {
    const len = v.getUint32(off);
    const type = Buffer.from(file.subarray(off + 4, off + 8)).toString('latin1');
    if (off + 12 + len > file.length) throw new Error(`PNG chunk ${type} runs past the end`);
    const data = file.subarray(off + 8, off + 8 + len);
    if (crc32(file.subarray(off + 4, off + 8 + len)) !== v.getUint32(off + 8 + len)) throw new Error(`PNG chunk ${type}: bad CRC`);
    if (type === 'IHDR') {
      width = v.getUint32(off + 8);
      height = v.getUint32(off + 12);
      const depth = data[8]!;
      const colour = data[9]!;
      if (depth !== 8 || (colour !== 2 && colour !== 6) || data[12] !== 0) throw new Error(`PNG of depth ${depth}, colour type ${colour}, interlace ${data[12]}: not handled`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    off += 12 + len;
  }
  if (!ended) throw new Error('PNG without IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  let coloured = 0;
  let ink = 0;
  for (let y = 0; y < height; y++) {
    const base = y * (stride + 1);
    const filter = raw[base]!;
    for (let x = 0; x < stride; x++) {
      const r = raw[base + 1 + x]!;
      const a = x >= channels ? cur[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let val: number;
      switch (filter) {
        case 0:
          val = r;
          break;
        case 1:
          val = r + a;
          break;
        case 2:
          val = r + b;
          break;
        case 3:
          val = r + ((a + b) >>> 1);
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          val = r + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`PNG row filter ${filter}`);
      }
      cur[x] = val & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      const R = cur[x]!;
      const G = cur[x + 1]!;
      const B = cur[x + 2]!;
      if (Math.max(R, G, B) - Math.min(R, G, B) > 60) coloured++;
      if (R + G + B < 3 * 200) ink++;
    }
    prev.set(cur);
  }
  return { width, height, colouredPixels: coloured, inkPixels: ink };
}
