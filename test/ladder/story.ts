// Reading a rendered ladder diagram back as text, for structural checks: one line per arrow label, in
// document order, and an in-order matcher over those lines.

import { expect } from 'vitest';
import { hasClass, walk, type XmlElement } from './xml.js';

/** "A→B SYN", "B→A ServerHello", "A→B GET /echo HTTP/1.1" for every label line of every arrow, in document order. */
export function story(svg: XmlElement): string[] {
  return walk(svg)
    .filter((e) => e.name === 'g' && hasClass(e, 'ev'))
    .flatMap((g) => {
      const dir = g.attrs['data-dir']!;
      return g.children
        .filter((c) => c.name === 'text' && (hasClass(c, 'seg') || hasClass(c, 'note')))
        .map((c, i) => (i === 0 ? `${dir} ${c.text.replace(/ Seq=.*$/, '')}` : /^(GET|HTTP)/.test(c.text) ? `${dir} ${c.text}` : `${dir} ${c.text.split(' ')[0]}`));
    });
}

/** The index of each wanted item, each found after the previous one (fails naming the first one missing). */
export function inOrder(have: string[], want: (string | RegExp)[]): number[] {
  const at: number[] = [];
  let from = 0;
  for (const w of want) {
    const i = have.findIndex((h, k) => k >= from && (typeof w === 'string' ? h === w : w.test(h)));
    expect(i, `${String(w)} after position ${from} in ${JSON.stringify(have)}`).toBeGreaterThanOrEqual(0);
    at.push(i);
    from = i + 1;
  }
  return at;
}

