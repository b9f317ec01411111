/**
 * A small XML well-formedness checker and reader, enough for the SVG the build writes: one root
 * element, matching start and end tags, quoted and unique attributes, only the five predefined
 * entities and character references, no `--` in comments, no markup characters in text. It
 * throws on the first violation, with its offset; otherwise it returns the element tree.
 */

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  if (raw.includes("<")) throw new Error(`"<" in text or attribute value near offset ${at}`);
  return raw.replace(/&([^;]*);?/g, (m, ref: string) => {
    if (!m.endsWith(";")) throw new Error(`unterminated reference near offset ${at}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const num = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(ref);
    if (num) return String.fromCodePoint(parseInt(num[1] ?? num[2]!, num[1] ? 16 : 10));
    throw new Error(`unknown entity &${ref}; near offset ${at}`);
  });
}

/** Parses `text`; throws unless it is well-formed XML. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not well-formed at offset ${i}: ${what}`);
  };
  const skipMisc = (): void => {
    for (;;) {
      while (/\s/.test(text[i] ?? "")) i++;
      if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i + 4);
        if (end < 0) fail("unterminated comment");
        if (text.slice(i + 4, end).includes("--")) fail('"--" inside a comment');
        i = end + 3;
      } else if (text.startsWith("<?", i)) {
        const end = text.indexOf("?>", i);
        if (end < 0) fail("unterminated processing instruction");
        i = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (text[i] !== "<") fail("expected an element");
    i++;
    const name = NAME.exec(text.slice(i))?.[0] ?? fail("expected a tag name");
    i += name.length;
    const attributes: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))![0].length;
      i += ws;
      if (text.startsWith("/>", i)) {
        i += 2;
        return { name, attributes, children: [] };
      }
      if (text[i] === ">") {
        i++;
        break;
      }
      if (ws === 0) fail("expected white space before an attribute");
      const attr = NAME.exec(text.slice(i))?.[0] ?? fail("expected an attribute name");
      i += attr.length;
      if (attr in attributes) fail(`attribute ${attr} twice`);
      const m =
        /^\s*=\s*(["'])/.exec(text.slice(i)) ?? fail(`attribute ${attr} without a quoted value`);
      i += m[0].length;
      const end = text.indexOf(m[1]!, i);
      if (end < 0) fail("unterminated attribute value");
      attributes[attr] = decode(text.slice(i, end), i);
      i = end + 1;
    }
    const children: (XmlElement | string)[] = [];
    for (;;) {
      const lt = text.indexOf("<", i);
      if (lt < 0) fail(`element ${name} is not closed`);
      const raw = text.slice(i, lt);
      if (raw.includes(">")) fail('">" in text');
      if (raw.length > 0) children.push(decode(raw, i));
      i = lt;
      if (text.startsWith("</", i)) {
        i += 2;
        const close = NAME.exec(text.slice(i))?.[0];
        if (close !== name) fail(`</${close ?? ""}> closes <${name}>`);
        i += name.length;
        i += /^\s*/.exec(text.slice(i))![0].length;
        if (text[i] !== ">") fail("expected > after an end tag");
        i++;
        return { name, attributes, children };
      }
      if (text.startsWith("<!--", i)) {
        skipMisc();
        continue;
      }
      children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== text.length) fail("content after the root element");
  return root;
}

/** Every element of a tree, depth first. */
export function elements(e: XmlElement): XmlElement[] {
  return [e, ...e.children.flatMap((c) => (typeof c === "string" ? [] : elements(c)))];
}

/** The text of an element and its descendants. */
export function textOf(e: XmlElement): string {
  return e.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("");
}
