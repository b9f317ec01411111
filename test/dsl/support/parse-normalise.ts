/**
 * Make two `nix-instantiate --parse` outputs (Nix 2.8) comparable where Nix shows the same
 * expression in different ways:
 *
 * 1. An indented string is split into one literal per escape (`"a" + "\$" + "{b}"`) while the
 *    same text in a `"…"` string is one literal; and `''${x}''` starts with an empty literal
 *    (`"" + x`) that `"${x}"` lacks. Adjacent literals of a concatenation are merged, a
 *    concatenation left with a single literal becomes that literal, and a leading `""` before a
 *    non-literal is dropped. (Nix escapes each character of a literal on its own, so joining
 *    the escaped contents is exact.)
 * 2. The bindings of a set or `let`, and the formals of a set pattern, are printed in the order
 *    of their symbols' addresses in memory, which differs between two files. They are sorted.
 */

/** Both normalisations. */
export function normaliseParse(s: string): string {
  // Indented strings parse to nested concatenations: merge until nothing changes.
  let merged = s;
  for (let prev = ""; merged !== prev;) {
    prev = merged;
    merged = mergeLiterals(merged);
  }
  return sortBindings(merged);
}

const LITERAL = /^"(?:[^"\\]|\\.)*"/su;

/**
 * Split into string literals and other text. A dynamic name prints as `"${` expr `}"`: that is
 * not a literal (Nix prints a literal `${` as `\${`, so no literal starts with `${`).
 */
function tokenize(s: string): string[] {
  const tokens: string[] = [];
  const stack: ("brace" | "dyn")[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' && s.startsWith("${", i + 1)) {
      text += '"${';
      stack.push("dyn");
      i += 3;
    } else if (c === '"') {
      const m = LITERAL.exec(s.slice(i));
      if (m === null) throw new Error(`unterminated string at ${i}: ${s.slice(i, i + 40)}`);
      if (text !== "") tokens.push(text);
      text = "";
      tokens.push(m[0]);
      i += m[0].length;
    } else if (c === "{") {
      stack.push("brace");
      text += c;
      i++;
    } else if (c === "}" && stack.pop() === "dyn") {
      text += '}"';
      i += 2;
    } else {
      text += c;
      i++;
    }
  }
  if (text !== "") tokens.push(text);
  return tokens;
}

function mergeLiterals(s: string): string {
  const tokens = tokenize(s);
  const isLit = (t: string | undefined): boolean =>
    t !== undefined && t.startsWith('"') && !t.startsWith('"${');
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i]!;
    if (!isLit(t)) {
      out.push(t);
      continue;
    }
    let merged = 0;
    while (tokens[i + 1] === " + " && isLit(tokens[i + 2])) {
      t = t.slice(0, -1) + tokens[i + 2]!.slice(1);
      i += 2;
      merged++;
    }
    const prev = out[out.length - 1];
    const next = tokens[i + 1];
    if (merged > 0 && prev?.endsWith("(") && next?.startsWith(")")) {
      out[out.length - 1] = prev.slice(0, -1);
      tokens[i + 1] = next.slice(1);
    } else if (merged === 0 && t === '""' && prev?.endsWith("(") && next?.startsWith(" + ")) {
      tokens[i + 1] = next.slice(3);
      continue;
    }
    out.push(t);
  }
  return out.join("");
}

/**
 * Sort the bindings of every `{ … }` and `(let … in …)`. The text is Nix's own normalised
 * rendering: names that are not identifiers are quoted, every binding ends in `; `, and only
 * `assert c; e` has a `;` of its own without parentheses around it.
 */
function sortBindings(s: string): string {
  let i = 0;
  const wordAt = (w: string): boolean =>
    s.startsWith(w, i) &&
    (i === 0 || /[\s(\[{;]/.test(s[i - 1]!)) &&
    /\s/.test(s[i + w.length] ?? "");
  /** Read nested text until `stop` holds at this depth (`stop` is not consumed). */
  const readUntil = (stop: () => boolean): string => {
    let out = "";
    while (i < s.length && !stop()) {
      const c = s[i]!;
      if (c === '"' && s.startsWith("${", i + 1)) {
        // A dynamic name `"${expr}"`: at this depth, the next `}` closes it.
        i += 3;
        out += `"\${${readUntil(() => s[i] === "}")}}"`;
        i += 2;
      } else if (c === '"') {
        const m = LITERAL.exec(s.slice(i));
        if (m === null) throw new Error(`unterminated string at ${i}: ${s.slice(i, i + 40)}`);
        out += m[0];
        i += m[0].length;
      } else if (c === "{") {
        i++;
        out += `{${readItems(() => s[i] === "}")}}`;
        i++;
      } else if (c === "(" && s.startsWith("(let ", i)) {
        i += 5;
        const items = readItems(() => wordAt("in") && !s.startsWith("in = ", i));
        i += 3;
        out += `(let ${items}in ${readUntil(() => s[i] === ")")})`;
        i++;
      } else if (c === "(" || c === "[") {
        const close = c === "(" ? ")" : "]";
        i++;
        out += `${c}${readUntil(() => s[i] === close)}${close}`;
        i++;
      } else {
        out += c;
        i++;
      }
    }
    return out;
  };
  /**
   * The items of a block, sorted: bindings end in `; ` (an `assert` inside one owns a `;`),
   * formals of a set pattern are separated by `, ` (`...` stays last).
   */
  const readItems = (end: () => boolean): string => {
    const items: string[] = [];
    let formals = false;
    let lead = "";
    while (i < s.length && s[i] === " ") {
      lead += " ";
      i++;
    }
    while (i < s.length && !end()) {
      let asserts = 0;
      const item = readUntil(() => {
        if (wordAt("assert")) asserts++;
        if (s[i] === ",") return true;
        if (s[i] !== ";") return end();
        if (asserts > 0) {
          asserts--;
          return false;
        }
        return true;
      });
      let tail = "";
      if (s[i] === ",") {
        formals = true;
        i++;
        while (s[i] === " ") i++;
      } else if (s[i] === ";") {
        tail = ";";
        i++;
        while (s[i] === " ") {
          tail += " ";
          i++;
        }
      }
      items.push(item + tail);
    }
    if (!formals) return lead + items.sort().join("");
    const names = items.map((x) => x.trim());
    const ellipsis = names.filter((x) => x === "...");
    const sorted = [...names.filter((x) => x !== "...").sort(), ...ellipsis];
    return ` ${sorted.join(", ")} `;
  };
  return readUntil(() => false);
}
