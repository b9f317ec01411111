/**
 * A greedy layout engine with the semantics of nixfmt's `Predoc` (nixfmt 1.x): the only way to
 * make our output a fixed point of `nixfmt --strict` by construction, rather than by luck.
 * Differences from Prettier's doc printer that matter here (docs/design.md §3.2): the width limit
 * does not count indentation, several nests opened on one line give a single indentation step,
 * and "priority groups" let a call keep its head on one line while its last argument expands.
 *
 * Hot paths avoid closures and generators on purpose: under tsx every named closure costs a
 * `__name` call per creation, and the walks below run once per group and per soft break.
 */
import { textWidth } from "./width.ts";

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
  /** Columns `text` takes, computed once (see `textWidth`). */
  readonly w: number;
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
/**
 * A pending shift of every text inside `doc` (what `nest` and `offset` mean), applied once by
 * `fixup` rather than by copying the subtree at every level: nests are as deep as the syntax,
 * so copying made printing quadratic in nesting depth.
 */
export interface ShiftE {
  readonly k: 3;
  readonly nest: number;
  readonly offset: number;
  readonly doc: Doc;
}
export type DocE = TextE | SpacingE | GroupE | ShiftE;
/**
 * A document: one element, a string (regular text, the common case, kept as is: no object per
 * token), or a sequence of documents (nested as built: concatenation shares its parts instead
 * of copying them; `fixup` reads the sequence in order).
 */
export type Doc = string | DocE | readonly Doc[];

/** Elements of a fixed-up document: shifts applied, so only texts, spacings and groups. */
export type FixedE = TextE | SpacingE | FixedGroupE;
export interface FixedGroupE {
  readonly k: 2;
  readonly kind: GroupKind;
  readonly doc: Fixed;
}
export type Fixed = readonly FixedE[];

/** The empty document (shared: no allocation per use). */
export const empty: Doc = [];
const EMPTY = empty;

const isSeq = (d: Doc): d is readonly Doc[] => Array.isArray(d);

// ---------------------------------------------------------------------------------------------
// Builders

function textE(kind: TextKind, t: string, nest = 0, offset = 0): TextE {
  return { k: 0, nest, offset, kind, text: t, w: textWidth(t) };
}
export function text(t: string): Doc {
  return t === "" ? EMPTY : t;
}
export function comment(t: string): Doc {
  return textE(TextKind.Comment, t);
}
export function trailing(t: string): Doc {
  return textE(TextKind.Trailing, t);
}
const spacing = (sp: number): Doc => ({ k: 1, sp });
export const softline_: Doc = spacing(Sp.Softbreak);
export const line_: Doc = spacing(Sp.Break);
export const softline: Doc = spacing(Sp.Softspace);
export const line: Doc = spacing(Sp.Space);
export const hardspace: Doc = spacing(Sp.Hardspace);
export const hardline: Doc = spacing(Sp.Hardline);
export const newline: Doc = spacing(Sp.Newlines + 1);

/** Concatenate docs (the parts are shared, not copied). */
export function cat(...docs: Doc[]): Doc {
  return docs;
}

/** Concatenate a list of docs (any length: no argument spreading, so no stack limit). */
export function catAll(docs: readonly Doc[]): Doc {
  return docs;
}

export function group(doc: Doc, kind: GroupKind = GroupKind.Regular): Doc {
  // A group of kind K directly holding one group of kind K is that group once fixed up (fixup
  // moves the same edges out of both and then dissolves the outer one): build it only once.
  if (!isSeq(doc) && typeof doc !== "string" && doc.k === 2 && doc.kind === kind) return doc;
  return { k: 2, kind, doc };
}

const isEmpty = (doc: Doc): boolean => isSeq(doc) && doc.length === 0;

/** Increase the nesting depth: one indentation step per line, however many nests open on it. */
export function nest(doc: Doc): Doc {
  return isEmpty(doc) ? EMPTY : { k: 3, nest: 1, offset: 0, doc };
}

/** Shift by a fixed number of columns, bypassing nesting rules (indented-string lines). */
export function offset(n: number, doc: Doc): Doc {
  return n === 0 || isEmpty(doc) ? doc : { k: 3, nest: 0, offset: n, doc };
}

export function join(sep: Doc, docs: readonly Doc[]): Doc {
  const parts: Doc[] = [];
  for (let i = 0; i < docs.length; i++) {
    if (i > 0) parts.push(sep);
    parts.push(docs[i]!);
  }
  return parts;
}

export function surround(outside: Doc, inner: Doc): Doc {
  return cat(outside, inner, outside);
}

const isHardOrHardspace = (e: FixedE): boolean =>
  e.k === 1 && (e.sp === Sp.Hardspace || e.sp >= Sp.Hardline);
function isComment(e: FixedE): boolean {
  if (e.k === 0) return e.kind === TextKind.Comment;
  if (e.k !== 2) return false;
  for (const x of e.doc) if (!isComment(x) && !isHardOrHardspace(x)) return false;
  return true;
}

/** Force the compact form of a group's own whitespace (not of nested groups). */
export function unexpandSpacing(doc: Fixed): Fixed {
  const out: FixedE[] = [];
  for (const e of doc) {
    if (e.k === 1 && (e.sp === Sp.Space || e.sp === Sp.Softspace))
      out.push({ k: 1, sp: Sp.Hardspace });
    else if (e.k === 1 && (e.sp === Sp.Break || e.sp === Sp.Softbreak)) continue;
    else out.push(e);
  }
  return out;
}

const HARDSPACE_E: SpacingE = { k: 1, sp: Sp.Hardspace };

/**
 * Force the compact form everywhere, or undefined when impossible (a hard line break) or,
 * with `limit`, when the result would be wider than that. Shifts inside are applied to the
 * texts kept, since the groups and shift nodes around them are dropped.
 */
export function unexpandSpacingDeep(doc: Doc, limit?: number): Doc | undefined {
  const out: Doc[] = [];
  const budget = unexpandInto(doc, 0, 0, limit ?? Infinity, out);
  return budget < 0 ? undefined : out;
}

/** The budget left after appending the compact form of `doc` to `out`; negative on failure. */
function unexpandInto(doc: Doc, dn: number, doff: number, budget: number, out: Doc[]): number {
  if (isSeq(doc)) {
    for (let i = 0; i < doc.length && budget >= 0; i++) {
      budget = unexpandInto(doc[i]!, dn, doff, budget, out);
    }
    return budget;
  }
  if (typeof doc === "string") {
    out.push(dn === 0 && doff === 0 ? doc : textE(TextKind.Regular, doc, dn, doff));
    return budget - textWidth(doc);
  }
  const e = doc;
  if (e.k === 0) {
    out.push(
      dn === 0 && doff === 0
        ? e
        : {
            k: 0,
            nest: e.nest + dn,
            offset: e.offset + doff,
            kind: e.kind,
            text: e.text,
            w: e.w,
          },
    );
    return budget - e.w;
  }
  if (e.k === 2) return unexpandInto(e.doc, dn, doff, budget, out);
  if (e.k === 3) return unexpandInto(e.doc, dn + e.nest, doff + e.offset, budget, out);
  if (e.sp === Sp.Hardspace || e.sp === Sp.Space || e.sp === Sp.Softspace) {
    out.push(HARDSPACE_E);
    return budget - 1;
  }
  return e.sp === Sp.Break || e.sp === Sp.Softbreak ? budget : -1;
}

export function mergeSpacing(a: number, b: number): number {
  const x = a > b ? b : a;
  const y = a > b ? a : b;
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
//
// nixfmt defines fixup recursively over lists. Here it is one pass over the tree: each open
// group has an output array (a level); an element read is appended to the innermost level,
// merging with the level's last element where nixfmt's rules merge neighbours; when a group
// ends, its leading and trailing hard spacing (and leading comments) move out to the parent,
// where they merge in turn. Shift nodes are entered, their shift applied to the texts read.

/** One spacing element per kind below `Newlines` (merges reuse them instead of allocating). */
const SPACINGS: readonly SpacingE[] = Array.from({ length: Sp.Emptyline + 1 }, (_, sp) => ({
  k: 1 as const,
  sp,
}));
const spacingE = (sp: number): SpacingE => SPACINGS[sp] ?? { k: 1, sp };

/** A text fixup creates: its own object, so merging a neighbour into it can update it. */
interface OwnTextE {
  k: 0;
  nest: number;
  offset: number;
  kind: TextKind;
  text: string;
  w: number;
}

// The levels of the pass (module state: fixup never re-enters itself), one output array per
// open group, reused at each depth (a group's body is sliced out at its exact size).
// `sealedAt[l]` is the length of level l's output below which nothing merges: nixfmt emits a
// text followed by a group as final, so what that group moves out does not merge with it.
const pool: FixedE[][] = [];
let depth = 0;
let kinds: GroupKind[] = [];
let sealedAt: number[] = [];

/** Append a text to level `out`, merging it into a text of its kind just before it. */
function appendText(
  out: FixedE[],
  sealed: number,
  kind: TextKind,
  t: string,
  w: number,
  nest: number,
  off: number,
): void {
  const n = out.length;
  if (n > sealed) {
    const last = out[n - 1]!;
    if (last.k === 0 && last.kind === kind) {
      // The nest and offset of the left text, as nixfmt merges them.
      const own = last as OwnTextE;
      own.text += t;
      own.w += w;
      return;
    }
  }
  const e: OwnTextE = { k: 0, nest, offset: off, kind, text: t, w };
  out.push(e);
}

/** Append `e` (moved out of a group: already fixup's own) to `out`, merging as nixfmt does. */
function append(out: FixedE[], sealed: number, e: FixedE): void {
  if (e.k === 0) {
    const n = out.length;
    const last = n > sealed ? out[n - 1]! : undefined;
    if (last !== undefined && last.k === 0 && last.kind === e.kind) {
      appendText(out, sealed, e.kind, e.text, e.w, 0, 0);
    } else out.push(e);
  } else if (e.k === 1) appendSpacing(out, sealed, e.sp);
  else out.push(e);
}

function appendSpacing(out: FixedE[], sealed: number, sp: number): void {
  const n = out.length;
  if (n > sealed) {
    const last = out[n - 1]!;
    if (last.k === 1) {
      out[n - 1] = spacingE(mergeSpacing(last.sp, sp));
      return;
    }
  }
  out.push(spacingE(sp));
}

/** A group starts: a hard space just before it moves inside; a text before it is final. */
function openGroup(kind: GroupKind): void {
  const out = pool[depth]!;
  const inner = pool[depth + 1] ?? (pool[depth + 1] = []);
  const n = out.length;
  if (n > sealedAt[depth]!) {
    const last = out[n - 1]!;
    if (last.k === 1 && last.sp === Sp.Hardspace) {
      out.pop();
      inner.push(last);
    }
  }
  const m = out.length;
  if (m > sealedAt[depth]! && out[m - 1]!.k === 0) sealedAt[depth] = m;
  depth++;
  kinds.push(kind);
  sealedAt.push(0);
}

/** A group ends: its edges move out to the parent; an empty group dissolves. */
function closeGroup(): void {
  const c = pool[depth]!;
  const kind = kinds.pop()!;
  sealedAt.pop();
  depth--;
  const out = pool[depth]!;
  const sealed = sealedAt[depth]!;
  let a = 0;
  while (a < c.length && (isHardOrHardspace(c[a]!) || isComment(c[a]!))) a++;
  let b = c.length;
  while (b > a && isHardOrHardspace(c[b - 1]!)) b--;
  for (let j = 0; j < a; j++) append(out, sealed, c[j]!);
  if (b > a) {
    const only = c[a]!;
    const body = b === a + 1 && only.k === 2 && only.kind === kind ? only.doc : c.slice(a, b);
    out.push({ k: 2, kind, doc: body });
  }
  for (let j = b; j < c.length; j++) append(out, sealedAt[depth]!, c[j]!);
  c.length = 0;
}

/** Read `d` in order into the levels, applying the shift (`dn`, `doff`) of the nodes around it. */
function walk(d: Doc, dn: number, doff: number): void {
  if (typeof d === "string") {
    appendText(pool[depth]!, sealedAt[depth]!, TextKind.Regular, d, textWidth(d), dn, doff);
  } else if (isSeq(d)) {
    for (let i = 0; i < d.length; i++) walk(d[i]!, dn, doff);
  } else if (d.k === 0) {
    appendText(pool[depth]!, sealedAt[depth]!, d.kind, d.text, d.w, d.nest + dn, d.offset + doff);
  } else if (d.k === 1) {
    appendSpacing(pool[depth]!, sealedAt[depth]!, d.sp);
  } else if (d.k === 2) {
    openGroup(d.kind);
    walk(d.doc, dn, doff);
    closeGroup();
  } else {
    walk(d.doc, dn + d.nest, doff + d.offset);
  }
}

/** Apply the shifts and fix up (see above); the result is what `layout` takes. */
export function fixup(input: Doc): Fixed {
  for (const level of pool) level.length = 0;
  if (pool.length === 0) pool.push([]);
  depth = 0;
  kinds = [GroupKind.Regular];
  sealedAt = [0];
  walk(input, 0, 0);
  const result = pool[0]!.slice();
  pool[0]!.length = 0;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Lookahead: the document still to be printed, as a chain of (doc, index) frames

interface Rest {
  readonly doc: Fixed;
  readonly i: number;
  readonly next: Rest | null;
}

function restOf(doc: Fixed, i: number, next: Rest | null): Rest | null {
  return i < doc.length ? { doc, i, next } : next;
}

// `fits` keeps its state in module variables (it never re-enters itself): the compact text,
// its width, the columns left and the spacing not yet emitted.
let fitsOut = "";
let fitsW = 0;
let fitsC = 0;
let fitsPending = -1;

function fitsFlush(): boolean {
  if (fitsPending < 0) return true;
  const sp = fitsPending;
  fitsPending = -1;
  if (sp >= Sp.Hardline) return false;
  if (sp === Sp.Softspace || sp === Sp.Space || sp === Sp.Hardspace) {
    fitsOut += " ";
    fitsW += 1;
    fitsC -= 1;
  }
  return fitsC >= 0;
}

function fitsWalk(doc: Fixed): boolean {
  for (let i = 0; i < doc.length; i++) {
    const e = doc[i]!;
    if (e.k === 1) {
      fitsPending = fitsPending < 0 ? e.sp : mergeSpacing(fitsPending, e.sp);
      continue;
    }
    if (e.k === 2) {
      if (!fitsWalk(e.doc)) return false;
      continue;
    }
    if (!fitsFlush()) return false;
    if (e.kind === TextKind.Regular) {
      fitsOut += e.text;
      fitsW += e.w;
      fitsC -= e.w;
      if (fitsC < 0) return false;
    } else if (e.kind === TextKind.Comment) {
      fitsOut += e.text;
      fitsW += e.w;
    }
  }
  return true;
}

/** Fit `doc` on one line within `c` columns: true, with the text in `fitsOut`, width `fitsW`. */
function fits(c: number, doc: Fixed): boolean {
  if (c < 0) return false;
  fitsOut = "";
  fitsW = 0;
  fitsC = c;
  fitsPending = -1;
  return fitsWalk(doc) && fitsFlush();
}

let lineW = 0;
let linePending = -1;

/** Adds to `lineW` up to the first line break of `doc` from `from`; true when one was met. */
function lineWalk(doc: Fixed, from: number, cap: number): boolean {
  for (let i = from; i < doc.length; i++) {
    const e = doc[i]!;
    if (e.k === 1) {
      linePending = linePending < 0 ? e.sp : mergeSpacing(linePending, e.sp);
      continue;
    }
    if (e.k === 2) {
      if (lineWalk(e.doc, 0, cap)) return true;
      continue;
    }
    if (linePending >= 0) {
      if (linePending !== Sp.Hardspace) return true;
      lineW += 1;
      linePending = -1;
    }
    if (e.kind !== TextKind.Comment) lineW += e.w;
    // Past `cap` the caller's fit fails whatever follows, so the exact width does not matter.
    if (lineW > cap) return true;
  }
  return false;
}

/**
 * Width of the first line of `rest` when every group is expanded, or some number above `cap`
 * when it is wider than that.
 */
function firstLineWidth(rest: Rest | null, cap: number): number {
  if (rest === null) return 0;
  lineW = 0;
  linePending = -1;
  for (let r: Rest | null = rest; r !== null; r = r.next) {
    if (lineWalk(r.doc, r.i, cap)) return lineW;
  }
  if (linePending === Sp.Hardspace) lineW += 1;
  return lineW;
}

/** `fits(c - firstLineWidth(rest), doc)`, without measuring more of `rest` than can matter. */
function fitsBefore(c: number, doc: Fixed, rest: Rest | null): boolean {
  if (c < 0) return false;
  return fits(c - firstLineWidth(rest, c), doc);
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
      if (e.kind === TextKind.Regular) c -= e.w;
      cur = after;
      continue;
    }
    if (fitsBefore(c, e.doc, after)) {
      c -= fitsW;
      cur = after;
    } else {
      cur = restOf(e.doc, 0, after);
    }
  }
}

/** The first text of `doc`, whose nest and offset a line started by `doc` takes. */
function firstText(doc: Fixed): TextE | undefined {
  for (const e of doc) {
    if (e.k === 0) return e;
    if (e.k === 2) {
      const t = firstText(e.doc);
      if (t !== undefined) return t;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Priority groups

type Segment = [boolean, FixedE[]];

function segment(d: Fixed, segs: Segment[]): void {
  for (const e of d) {
    if (e.k === 2 && e.kind === GroupKind.Priority) segs.push([true, e.doc.slice()]);
    else if (e.k === 2 && e.kind === GroupKind.Transparent) segment(e.doc, segs);
    else {
      const last = segs[segs.length - 1];
      if (last !== undefined && !last[0]) last[1].push(e);
      else segs.push([false, [e]]);
    }
  }
}

function concatSegments(segs: readonly Segment[], from: number, to: number): FixedE[] {
  const out: FixedE[] = [];
  for (let i = from; i < to; i++) for (const e of segs[i]![1]) out.push(e);
  return out;
}

function priorityGroups(doc: Fixed): [Fixed, Fixed, Fixed][] {
  const segs: Segment[] = [];
  segment(doc, segs);
  const out: [Fixed, Fixed, Fixed][] = [];
  for (let i = 0; i < segs.length; i++) {
    const [prio, content] = segs[i]!;
    if (!prio) continue;
    out.push([concatSegments(segs, 0, i), content, concatSegments(segs, i + 1, segs.length)]);
  }
  return out;
}

/** Does `doc` contain a priority group (looking through transparent groups)? */
function hasPriority(doc: Fixed): boolean {
  for (const e of doc) {
    if (e.k !== 2) continue;
    if (e.kind === GroupKind.Priority) return true;
    if (e.kind === GroupKind.Transparent && hasPriority(e.doc)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The renderer

/** Lay out a fixed-up document at `width` columns (not counting indentation). */
export function layout(doc: Fixed, width = 100, indentWidth = 2): string {
  const out: string[] = [];
  let cc = 0;
  // The indentation stack, as parallel arrays: columns and nesting level; never empty.
  let indCols: number[] = [0];
  let indLevels: number[] = [0];

  const putText = (nl: number, off: number, t: string, w: number): void => {
    for (;;) {
      const level = indLevels[indLevels.length - 1]!;
      if (nl > level) {
        const ci = indCols[indCols.length - 1]!;
        indCols.push(cc === 0 ? ci + indentWidth : ci);
        indLevels.push(nl);
        break;
      }
      if (nl < level) {
        indCols.pop();
        indLevels.pop();
        continue;
      }
      break;
    }
    if (cc === 0) out.push(" ".repeat(indCols[indCols.length - 1]! + off));
    out.push(t);
    cc += w;
  };

  const putNL = (n: number): void => {
    cc = 0;
    out.push(n === 1 ? "\n" : "\n".repeat(n));
  };

  /** Try `grp` on one line; false (state untouched) if it does not fit. */
  const goGroup = (grp: Fixed, rest: Rest | null): boolean => {
    if (grp.length === 0) return true;
    if (cc === 0) {
      let g = grp;
      const first = g[0]!;
      if (first.k === 1) g = g.slice(1);
      else if (first.k === 2 && first.doc[0]?.k === 1) {
        const rebuilt: FixedE[] = [{ k: 2, kind: first.kind, doc: first.doc.slice(1) }];
        for (let i = 1; i < g.length; i++) rebuilt.push(g[i]!);
        g = rebuilt;
      }
      const t = firstText(g);
      if (!fitsBefore(width, g, rest)) return false;
      putText(t?.nest ?? 0, t?.offset ?? 0, fitsOut, fitsW);
      return true;
    }
    if (!fitsBefore(width - cc, grp, rest)) return false;
    out.push(fitsOut);
    cc += fitsW;
    return true;
  };

  const goPriority = ([pre, prio, post]: [Fixed, Fixed, Fixed], rest: Rest | null): boolean => {
    const savedCC = cc;
    const savedCols = indCols.slice();
    const savedLevels = indLevels.slice();
    const savedOut = out.length;
    if (goGroup(pre, restOf(prio, 0, restOf(post, 0, rest)))) {
      go(prio, restOf(unexpandSpacing(post), 0, rest));
      if (goGroup(post, rest)) return true;
    }
    cc = savedCC;
    indCols = savedCols;
    indLevels = savedLevels;
    out.length = savedOut;
    return false;
  };

  const go = (doc: Fixed, rest: Rest | null): void => {
    for (let i = 0; i < doc.length; i++) {
      const e = doc[i]!;
      if (e.k === 0) {
        putText(e.nest, e.offset, e.text, e.w);
      } else if (e.k === 1) {
        if (cc === 0) continue;
        switch (e.sp) {
          case Sp.Break:
          case Sp.Space:
          case Sp.Hardline:
            putNL(1);
            break;
          case Sp.Hardspace:
            out.push(" ");
            cc += 1;
            break;
          case Sp.Emptyline:
            putNL(2);
            break;
          case Sp.Softbreak:
            if (!firstLineFits(width - cc, width, restOf(doc, i + 1, rest))) putNL(1);
            break;
          case Sp.Softspace:
            if (firstLineFits(width - cc - 1, width, restOf(doc, i + 1, rest))) {
              out.push(" ");
              cc += 1;
            } else putNL(1);
            break;
          default:
            putNL(e.sp - Sp.Newlines);
        }
      } else {
        const rest2 = restOf(doc, i + 1, rest);
        if (goGroup(e.doc, rest2)) continue;
        let done = false;
        if (e.kind !== GroupKind.Transparent && hasPriority(e.doc)) {
          const prios = priorityGroups(e.doc);
          for (let p = prios.length - 1; p >= 0; p--) {
            if (goPriority(prios[p]!, rest2)) {
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
