// Headless Chromium (Debian's `chromium`) for the ladder tests: a page rendered to a PNG screenshot, or a
// file's DOM as Chromium parsed it. Each run has its own profile directory under `dir`.

import { join } from 'node:path';
import { sh, type RunResult } from '../helpers/harness.js';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu'];

/** Renders file://`html` to `png` at width×height; the result of the chromium run (check its code). */
export function screenshot(html: string, png: string, dir: string, width = 1200, height = 2000): Promise<RunResult> {
  return sh('chromium', [...FLAGS, `--user-data-dir=${join(dir, 'chromium')}`, `--screenshot=${png}`, `--window-size=${width},${height}`, `file://${html}`], 90_000);
}

/** The DOM Chromium builds from file://`path` (an XML parse error shows as a <parsererror> element). */
export function dumpDom(path: string, dir: string): Promise<RunResult> {
  return sh('chromium', [...FLAGS, `--user-data-dir=${join(dir, 'chromium')}`, '--dump-dom', `file://${path}`], 90_000);
}
