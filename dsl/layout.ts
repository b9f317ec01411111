/**
 * A greedy layout engine with the semantics of nixfmt's `Predoc` (nixfmt 1.x): the only way to
 * make our output a fixed point of `nixfmt --strict` by construction, rather than by luck.
 * Differences from Prettier's doc printer that matter here (docs/design.md §3.2): the width limit
 * does not count indentation, several nests opened on one line give a single indentation step,
 * and "priority groups" let a call keep its head on one line while its last argument expands.
 */

/** Kinds of whitespace, ordered: when two meet, the larger wins (see {@link mergeSpacing}). */
export enum Sp {
  /** Line break or nothing, decided per line (soft). */
  Softbreak = 0,
  /** Line break or nothing, decided by the enclosing group. */
  Break = 1,
  /** Always a space. */
  Hardspace = 2,
  /** Line break or space (soft). */
  Softspace = 3,
  /** Line break or space, decided by the enclosing group. */
  Space = 4,
  /** Always a line break. */
  Hardline = 5,
  /** Two line breaks. */
  Emptyline = 6,
  /** `Newlines n` is encoded as `Newlines + n`. */
  Newlines = 100,
}

export enum TextKind {
  Regular = 0,
  Comment = 1,
  /** Printed only when the enclosing group is expanded (e.g. a trailing comma). */
  Trailing = 2,
}

export enum GroupKind {
  Regular = 0,
  /** Expanded first when the parent does not fit (e.g. a call's last argument). */
  Priority = 1,
  /** Lets priority groups inside belong to the parent. */
  Transparent = 2,
}

export interface TextE {
  readonly k: 0;
  readonly nest: number;
  readonly offset: number;
  readonly kind: TextKind;
  readonly text: string;
}
export interface SpacingE {
  readonly k: 1;
  readonly sp: number;
}
export interface GroupE {
  readonly k: 2;
  readonly kind: GroupKind;
  readonly doc: Doc;
}
export type DocE = TextE | SpacingE | GroupE;
export type Doc = readonly DocE[];

const EMPTY: Doc = [];

// ---------------------------------------------------------------------------------------------
// Builders

export function text(t: string): Doc {
  return t === "" ? EMPTY : [{ k: 0, nest: 0, offset: 0, kind: TextKind.Regular, text: t }];
}
export function comment(t: string): Doc {
  return [{ k: 0, nest: 0, offset: 0, kind: TextKind.Comment, text: t }];
}
export function trailing(t: string): Doc {
  return [{ k: 0, nest: 0, offset: 0, kind: TextKind.Trailing, text: t }];
}
const spacing = (sp: number): Doc => [{ k: 1, sp }];
export const softline_: Doc = spacing(Sp.Softbreak);
export const line_: Doc = spacing(Sp.Break);
export const softline: Doc = spacing(Sp.Softspace);
export const line: Doc = spacing(Sp.Space);
export const hardspace: Doc = spacing(Sp.Hardspace);
export const hardline: Doc = spacing(Sp.Hardline);
export const newline: Doc = spacing(Sp.Newlines + 1);

/** Concatenate docs. */
export function cat(...docs: Doc[]): Doc {
  return catAll(docs);
}

/** Concatenate a list of docs (any length: no argument spreading, so no stack limit). */
export function catAll(docs: readonly Doc[]): Doc {
  let n = 0;
  for (const d of docs) n += d.length;
  const out: DocE[] = new Array<DocE>(n);
  let i = 0;
  for (const d of docs) for (const e of d) out[i++] = e;
  return out;
}

export function group(doc: Doc, kind: GroupKind = GroupKind.Regular): Doc {
  return [{ k: 2, kind, doc }];
}

function mapTexts(doc: Doc, f: (t: TextE) => TextE): Doc {
  return doc.map((e) =>
    e.k === 0 ? f(e) : e.k === 2 ? { k: 2, kind: e.kind, doc: mapTexts(e.doc, f) } : e,
  );
}

/** Increase the nesting depth: one indentation step per line, however many nests open on it. */
export function nest(doc: Doc): Doc {
  return mapTexts(doc, (t) => ({ ...t, nest: t.nest + 1 }));
}

/** Shift by a fixed number of columns, bypassing nesting rules (indented-string lines). */
export function offset(n: number, doc: Doc): Doc {
  return n === 0 ? doc : mapTexts(doc, (t) => ({ ...t, offset: t.offset + n }));
}

export function join(sep: Doc, docs: readonly Doc[]): Doc {
  const parts: Doc[] = [];
  docs.forEach((d, i) => {
    if (i > 0) parts.push(sep);
    parts.push(d);
  });
  return catAll(parts);
}

export function surround(outside: Doc, inner: Doc): Doc {
  return cat(outside, inner, outside);
}

const isHardSpacing = (e: DocE): boolean => e.k === 1 && e.sp >= Sp.Hardline;
const isSoftSpacing = (e: DocE): boolean =>
  e.k === 1 && e.sp !== Sp.Hardspace && e.sp < Sp.Hardline;
const isHardOrHardspace = (e: DocE): boolean =>
  e.k === 1 && (e.sp === Sp.Hardspace || e.sp >= Sp.Hardline);
const isComment = (e: DocE): boolean =>
  (e.k === 0 && e.kind === TextKind.Comment) ||
  (e.k === 2 && e.doc.every((x) => isComment(x) || isHardOrHardspace(x)));

/** Force the compact form of a group's own whitespace (not of nested groups). */
export function unexpandSpacing(doc: Doc): Doc {
  const out: DocE[] = [];
  for (const e of doc) {
    if (e.k === 1 && (e.sp === Sp.Space || e.sp === Sp.Softspace))
      out.push({ k: 1, sp: Sp.Hardspace });
    else if (e.k === 1 && (e.sp === Sp.Break || e.sp === Sp.Softbreak)) continue;
    else out.push(e);
  }
  return out;
}

/**
 * Force the compact form everywhere, or undefined when impossible (a hard line break) or,
 * with `limit`, when the result would be wider than that.
 */
export function unexpandSpacingDeep(doc: Doc, limit?: number): Doc | undefined {
  const out: DocE[] = [];
  let budget = limit ?? Infinity;
  const stack: Doc[] = [doc];
  const idx: number[] = [0];
  while (stack.length > 0) {
    if (budget < 0) return undefined;
    const top = stack[stack.length - 1]!;
    const i = idx[idx.length - 1]!;
    if (i >= top.length) {
      stack.pop();
      idx.pop();
      continue;
    }
    idx[idx.length - 1] = i + 1;
    const e = top[i]!;
    if (e.k === 0) {
      out.push(e);
      budget -= e.text.length;
    } else if (e.k === 2) {
      stack.push(e.doc);
      idx.push(0);
    } else if (e.sp === Sp.Hardspace || e.sp === Sp.Space || e.sp === Sp.Softspace) {
      out.push({ k: 1, sp: Sp.Hardspace });
      budget -= 1;
    } else if (e.sp === Sp.Break || e.sp === Sp.Softbreak) {
      continue;
    } else {
      return undefined;
    }
  }
  return budget < 0 ? undefined : out;
}

export function mergeSpacing(a: number, b: number): number {
  const [x, y] = a > b ? [b, a] : [a, b];
  if (x === Sp.Break && (y === Sp.Softspace || y === Sp.Hardspace)) return Sp.Space;
  if (x === Sp.Softbreak && y === Sp.Hardspace) return Sp.Softspace;
  if (y > Sp.Newlines) {
    if (x > Sp.Newlines) return x + (y - Sp.Newlines);
    if (x === Sp.Emptyline) return y + 2;
    if (x === Sp.Hardspace) return y;
    return y + 1;
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// fixup: move hard whitespace and comments out of group edges, merge neighbours, drop empties

function simplifyGroup(kind: GroupKind, doc: Doc): Doc {
  if (doc.length === 1) {
    const only = doc[0]!;
    if (only.k === 2 && only.kind === kind) return only.doc;
  }
  return doc;
}

function splitGroup(kind: GroupKind, inner: Doc): { pre: Doc; body: Doc; post: Doc } {
  const fixed = fixup(inner);
  let a = 0;
  while (a < fixed.length && (isHardOrHardspace(fixed[a]!) || isComment(fixed[a]!))) a++;
  let b = fixed.length;
  while (b > a && isHardOrHardspace(fixed[b - 1]!)) b--;
  return {
    pre: fixed.slice(0, a),
    body: simplifyGroup(kind, fixed.slice(a, b)),
    post: fixed.slice(b),
  };
}

export function fixup(input: Doc): Doc {
  const out: DocE[] = [];
  const work: DocE[] = input.slice().reverse();
  const pushFront = (items: Doc): void => {
    for (let i = items.length - 1; i >= 0; i--) work.push(items[i]!);
  };
  while (work.length > 0) {
    const x = work.pop()!;
    const y = work[work.length - 1];
    if (x.k === 1 && y?.k === 1) {
      work.pop();
      work.push({ k: 1, sp: mergeSpacing(x.sp, y.sp) });
      continue;
    }
    if (x.k === 0 && y?.k === 0 && x.kind === y.kind) {
      work.pop();
      work.push({ ...x, text: x.text + y.text });
      continue;
    }
    if (x.k === 1 && x.sp === Sp.Hardspace && y?.k === 2) {
      work.pop();
      work.push({ k: 2, kind: y.kind, doc: [x, ...y.doc] });
      continue;
    }
    if (x.k === 1 && y?.k === 2) {
      work.pop();
      const { pre, body, post } = splitGroup(y.kind, y.doc);
      if (body.length === 0) {
        pushFront([x, ...pre, ...post]);
      } else {
        out.push(...fixup([x, ...pre]), { k: 2, kind: y.kind, doc: body });
        pushFront(post);
      }
      continue;
    }
    if (x.k === 2) {
      const { pre, body, post } = splitGroup(x.kind, x.doc);
      if (body.length === 0) {
        pushFront([...pre, ...post]);
      } else {
        out.push(...fixup(pre), { k: 2, kind: x.kind, doc: body });
        pushFront(post);
      }
      continue;
    }
    out.push(x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lookahead: the document still to be printed, as a chain of (doc, index) frames

interface Rest {
  readonly doc: Doc;
  readonly i: number;
  readonly next: Rest | null;
}

function restOf(doc: Doc, i: number, next: Rest | null): Rest | null {
  return i < doc.length ? { doc, i, next } : next;
}

/** Iterates elements of `doc` then of `rest`, descending into groups (flattening them). */
function* flat(doc: Doc, rest: Rest | null): Generator<TextE | SpacingE> {
  const stack: { doc: Doc; i: number }[] = [];
  let cur: { doc: Doc; i: number } | null = { doc, i: 0 };
  let chain = rest;
  for (;;) {
    if (cur === null) {
      if (chain === null) return;
      cur = { doc: chain.doc, i: chain.i };
      chain = chain.next;
    }
    if (cur.i >= cur.doc.length) {
      cur = stack.pop() ?? null;
      continue;
    }
    const e: DocE = cur.doc[cur.i++]!;
    if (e.k === 2) {
      stack.push(cur);
      cur = { doc: e.doc, i: 0 };
    } else {
      yield e;
    }
  }
}

/** Fit `doc` on one line within `c` columns; the compact text, or undefined. */
function fits(c: number, doc: Doc, rest: Rest | null = null): string | undefined {
  if (c < 0) return undefined;
  let out = "";
  let pending = -1;
  const flush = (): boolean => {
    if (pending < 0) return true;
    const sp = pending;
    pending = -1;
    if (sp >= Sp.Hardline) return false;
    if (sp === Sp.Softspace || sp === Sp.Space || sp === Sp.Hardspace) {
      out += " ";
      c -= 1;
    }
    return c >= 0;
  };
  for (const e of flat(doc, rest)) {
    if (e.k === 1) {
      pending = pending < 0 ? e.sp : mergeSpacing(pending, e.sp);
      continue;
    }
    if (!flush()) return undefined;
    if (e.kind === TextKind.Regular) {
      out += e.text;
      c -= e.text.length;
      if (c < 0) return undefined;
    } else if (e.kind === TextKind.Comment) {
      out += e.text;
    }
  }
  if (!flush()) return undefined;
  return out;
}

/** Width of the first line of `doc ++ rest` when every group is expanded. */
function firstLineWidth(rest: Rest | null): number {
  if (rest === null) return 0;
  let w = 0;
  let pending = -1;
  for (const e of flat(EMPTY, rest)) {
    if (e.k === 1) {
      pending = pending < 0 ? e.sp : mergeSpacing(pending, e.sp);
      continue;
    }
    if (pending >= 0) {
      if (pending !== Sp.Hardspace) return w;
      w += 1;
      pending = -1;
    }
    if (e.kind !== TextKind.Comment) w += e.text.length;
  }
  if (pending >= 0 && pending === Sp.Hardspace) w += 1;
  return w;
}

/** Does the first line of `rest` fit in `targetWidth`, keeping groups compact where they fit? */
function firstLineFits(targetWidth: number, maxWidth: number, rest: Rest | null): boolean {
  let c = maxWidth;
  let cur = rest;
  let pending = -1;
  for (;;) {
    if (c < 0) return false;
    if (cur === null) {
      if (pending === Sp.Hardspace) c -= 1;
      else if (pending >= 0) return maxWidth - c <= targetWidth;
      return c >= 0 && maxWidth - c <= targetWidth;
    }
    const e = cur.doc[cur.i]!;
    const after = restOf(cur.doc, cur.i + 1, cur.next);
    if (e.k === 1) {
      pending = pending < 0 ? e.sp : mergeSpacing(pending, e.sp);
      cur = after;
      continue;
    }
    if (pending >= 0) {
      if (pending !== Sp.Hardspace) return maxWidth - c <= targetWidth;
      c -= 1;
      pending = -1;
      if (c < 0) return false;
    }
    if (e.k === 0) {
      if (e.kind === TextKind.Regular) c -= e.text.length;
      cur = after;
      continue;
    }
    const t = fits(c - firstLineWidth(after), e.doc);
    if (t === undefined) {
      cur = restOf(e.doc, 0, after);
    } else {
      c -= t.length;
      cur = after;
    }
  }
}

function nextIndent(doc: Doc, rest: Rest | null = null): [number, number] {
  for (const e of flat(doc, rest)) {
    if (e.k === 0) return [e.nest, e.offset];
  }
  return [0, 0];
}

// ---------------------------------------------------------------------------------------------
// Priority groups

function priorityGroups(doc: Doc): [Doc, Doc, Doc][] {
  const segs: [boolean, DocE[]][] = [];
  const segment = (d: Doc): void => {
    for (const e of d) {
      if (e.k === 2 && e.kind === GroupKind.Priority) segs.push([true, [...e.doc]]);
      else if (e.k === 2 && e.kind === GroupKind.Transparent) segment(e.doc);
      else {
        const last = segs[segs.length - 1];
        if (last !== undefined && !last[0]) last[1].push(e);
        else segs.push([false, [e]]);
      }
    }
  };
  segment(doc);
  const out: [Doc, Doc, Doc][] = [];
  segs.forEach(([prio, content], i) => {
    if (!prio) return;
    out.push([
      segs.slice(0, i).flatMap((s) => s[1]),
      content,
      segs.slice(i + 1).flatMap((s) => s[1]),
    ]);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The renderer

interface State {
  cc: number;
  /** Stack of [indentation in columns, nesting level]; never empty. */
  indents: [number, number][];
}

/** Lay out a fixed-up document at `width` columns (not counting indentation). */
export function layout(doc: Doc, width = 100, indentWidth = 2): string {
  const out: string[] = [];
  const st: State = { cc: 0, indents: [[0, 0]] };

  const snapshot = (): [number, [number, number][], number] => [
    st.cc,
    st.indents.slice(),
    out.length,
  ];
  const restore = (s: [number, [number, number][], number]): void => {
    st.cc = s[0];
    st.indents = s[1];
    out.length = s[2];
  };

  const putText = (nl: number, off: number, t: string): void => {
    for (;;) {
      const [ci, level] = st.indents[st.indents.length - 1]!;
      if (nl > level) {
        st.indents.push([st.cc === 0 ? ci + indentWidth : ci, nl]);
        break;
      }
      if (nl < level) {
        st.indents.pop();
        continue;
      }
      break;
    }
    const ci = st.indents[st.indents.length - 1]![0];
    if (st.cc === 0) out.push(" ".repeat(ci + off));
    out.push(t);
    st.cc += t.length;
  };

  const putNL = (n: number): void => {
    st.cc = 0;
    out.push("\n".repeat(n));
  };

  /** Try `grp` on one line; false (state untouched) if it does not fit. */
  const goGroup = (grp: Doc, rest: Rest | null): boolean => {
    if (grp.length === 0) return true;
    if (st.cc === 0) {
      let g = grp;
      const first = g[0]!;
      if (first.k === 1) g = g.slice(1);
      else if (first.k === 2 && first.doc[0]?.k === 1) {
        g = [{ k: 2, kind: first.kind, doc: first.doc.slice(1) }, ...g.slice(1)];
      }
      const [nl, off] = nextIndent(g);
      const t = fits(width - firstLineWidth(rest), g);
      if (t === undefined) return false;
      putText(nl, off, t);
      return true;
    }
    const t = fits(width - st.cc - firstLineWidth(rest), grp);
    if (t === undefined) return false;
    out.push(t);
    st.cc += t.length;
    return true;
  };

  const goPriority = ([pre, prio, post]: [Doc, Doc, Doc], rest: Rest | null): boolean => {
    const saved = snapshot();
    if (!goGroup(pre, restOf(prio, 0, restOf(post, 0, rest)))) {
      restore(saved);
      return false;
    }
    go(prio, restOf(unexpandSpacing(post), 0, rest));
    if (!goGroup(post, rest)) {
      restore(saved);
      return false;
    }
    return true;
  };

  const go = (doc: Doc, rest: Rest | null): void => {
    for (let i = 0; i < doc.length; i++) {
      const e = doc[i]!;
      const after = (): Rest | null => restOf(doc, i + 1, rest);
      if (e.k === 0) {
        putText(e.nest, e.offset, e.text);
      } else if (e.k === 1) {
        if (st.cc === 0) continue;
        switch (e.sp) {
          case Sp.Break:
          case Sp.Space:
          case Sp.Hardline:
            putNL(1);
            break;
          case Sp.Hardspace:
            out.push(" ");
            st.cc += 1;
            break;
          case Sp.Emptyline:
            putNL(2);
            break;
          case Sp.Softbreak:
            if (!firstLineFits(width - st.cc, width, after())) putNL(1);
            break;
          case Sp.Softspace:
            if (firstLineFits(width - st.cc - 1, width, after())) {
              out.push(" ");
              st.cc += 1;
            } else putNL(1);
            break;
          default:
            putNL(e.sp - Sp.Newlines);
        }
      } else {
        const rest2 = after();
        if (goGroup(e.doc, rest2)) continue;
        let done = false;
        if (e.kind !== GroupKind.Transparent) {
          const prios = priorityGroups(e.doc).reverse();
          for (const p of prios) {
            if (goPriority(p, rest2)) {
              done = true;
              break;
            }
          }
        }
        if (!done) go(e.doc, rest2);
      }
    }
  };

  go([{ k: 2, kind: GroupKind.Regular, doc }], null);
  return out.join("");
}
