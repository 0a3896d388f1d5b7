// Where things live on disk, relative to the installed package (works from src/ under vitest and dist/ after tsc).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find tunstack package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** captures/<prefix>-<UTC time>.pcapng in the package's captures/ folder. */
export function capturePath(prefix: string, when = new Date()): string {
  const stamp = when.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  return join(packageRoot(), 'captures', `${prefix}-${stamp}.pcapng`);
}
