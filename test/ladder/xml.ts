// A strict little XML parser for the tests: elements, attributes, text and the five predefined
// entities; throws on anything not well-formed (unbalanced tags, a raw '<' or '&' in text or
// attributes, duplicate attributes), so a test that parses the SVG also proves it is well-formed XML.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element, entities decoded. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, where: string): string {
  return s.replace(/&([^;\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`bare & in ${where}: ${JSON.stringify(s.slice(0, 80))}`);
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    const v = ENTITIES[name];
    if (v === undefined) throw new Error(`unknown entity &${name}; in ${where}`);
    return v;
  });
}

/** Parses one XML document (an optional XML declaration, then one root element). */
export function parseXml(src: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) {
      const t = src.slice(i, textEnd);
      if (t.includes('>')) throw new Error(`raw > in text is allowed but suspicious here: ${JSON.stringify(t.slice(0, 80))}`);
      stack[stack.length - 1]!.text += decode(t, 'text');
    }
    if (lt < 0) break;
    if (src.startsWith('<?', lt)) {
      i = src.indexOf('?>', lt) + 2;
      continue;
    }
    if (src.startsWith('<!--', lt)) {
      i = src.indexOf('-->', lt) + 3;
      continue;
    }
    const gt = src.indexOf('>', lt);
    if (gt < 0) throw new Error('unterminated tag');
    const tag = src.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop()!;
      if (open.name !== name) throw new Error(`</${name}> closes <${open.name}>`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
    if (m === null) throw new Error(`bad tag <${tag}>`);
    const el: XmlElement = { name: m[1]!, attrs: {}, children: [], text: '' };
    let rest = body.slice(m[1]!.length);
    const attr = /^\s+([A-Za-z_][\w:.-]*)="([^"<]*)"/;
    for (let a = attr.exec(rest); a !== null; a = attr.exec(rest)) {
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} on <${el.name}>`);
      el.attrs[a[1]!] = decode(a[2]!, `attribute ${a[1]}`);
      rest = rest.slice(a[0].length);
    }
    if (rest.trim() !== '') throw new Error(`bad attributes in <${tag}>`);
    stack[stack.length - 1]!.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1) throw new Error(`${root.children.length} root elements`);
  return root.children[0]!;
}

/** Every element in document order (depth first). */
export function walk(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(walk)];
}

export function hasClass(el: XmlElement, cls: string): boolean {
  return (el.attrs.class ?? '').split(/\s+/).includes(cls);
}
