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
export type Doc = readonly DocE[];

/** Elements of a fixed-up document: shifts applied, so only texts, spacings and groups. */
export type FixedE = TextE | SpacingE | FixedGroupE;
export interface FixedGroupE {
  readonly k: 2;
  readonly kind: GroupKind;
  readonly doc: Fixed;
}
export type Fixed = readonly FixedE[];

const EMPTY: Doc = [];

// ---------------------------------------------------------------------------------------------
// Builders

function textE(kind: TextKind, t: string): TextE {
  return { k: 0, nest: 0, offset: 0, kind, text: t, w: textWidth(t) };
}
export function text(t: string): Doc {
  return t === "" ? EMPTY : [textE(TextKind.Regular, t)];
}
export function comment(t: string): Doc {
  return [textE(TextKind.Comment, t)];
}
export function trailing(t: string): Doc {
  return [textE(TextKind.Trailing, t)];
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

/** Increase the nesting depth: one indentation step per line, however many nests open on it. */
export function nest(doc: Doc): Doc {
  return doc.length === 0 ? EMPTY : [{ k: 3, nest: 1, offset: 0, doc }];
}

/** Shift by a fixed number of columns, bypassing nesting rules (indented-string lines). */
export function offset(n: number, doc: Doc): Doc {
  return n === 0 || doc.length === 0 ? doc : [{ k: 3, nest: 0, offset: n, doc }];
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
  const out: DocE[] = [];
  const budget = unexpandInto(doc, 0, 0, limit ?? Infinity, out);
  return budget < 0 ? undefined : out;
}

/** The budget left after appending the compact form of `doc` to `out`; negative on failure. */
function unexpandInto(doc: Doc, dn: number, doff: number, budget: number, out: DocE[]): number {
  for (let i = 0; i < doc.length; i++) {
    if (budget < 0) return budget;
    const e = doc[i]!;
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
      budget -= e.w;
    } else if (e.k === 2) {
      budget = unexpandInto(e.doc, dn, doff, budget, out);
    } else if (e.k === 3) {
      budget = unexpandInto(e.doc, dn + e.nest, doff + e.offset, budget, out);
    } else if (e.sp === Sp.Hardspace || e.sp === Sp.Space || e.sp === Sp.Softspace) {
      out.push(HARDSPACE_E);
      budget -= 1;
    } else if (e.sp !== Sp.Break && e.sp !== Sp.Softbreak) {
      return -1;
    }
  }
  return budget;
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

function simplifyGroup(kind: GroupKind, doc: Fixed): Fixed {
  if (doc.length === 1) {
    const only = doc[0]!;
    if (only.k === 2 && only.kind === kind) return only.doc;
  }
  return doc;
}

interface Split {
  readonly pre: Fixed;
  readonly body: Fixed;
  readonly post: Fixed;
}

const NONE: Fixed = [];

/**
 * A group read from the input, whose contents still carry the shift (`dn`, `doff`) of the
 * shift nodes around it: shifts are applied while fixing up, so the tree is copied once.
 */
interface PendingGroupE {
  readonly k: 4;
  readonly kind: GroupKind;
  readonly doc: Doc;
  readonly dn: number;
  readonly doff: number;
}
type WorkE = FixedE | PendingGroupE;

/** Reads a doc element by element, entering shift nodes and applying their shift to texts. */
class Cursor {
  private readonly docs: Doc[];
  private readonly idx: number[];
  private readonly dns: number[];
  private readonly doffs: number[];
  private cached: WorkE | undefined = undefined;

  constructor(doc: Doc, dn: number, doff: number) {
    this.docs = [doc];
    this.idx = [0];
    this.dns = [dn];
    this.doffs = [doff];
  }

  /** The next element (not consumed), or undefined at the end. */
  peek(): WorkE | undefined {
    if (this.cached !== undefined) return this.cached;
    for (;;) {
      const t = this.docs.length - 1;
      if (t < 0) return undefined;
      const d = this.docs[t]!;
      const i = this.idx[t]!;
      if (i >= d.length) {
        this.docs.pop();
        this.idx.pop();
        this.dns.pop();
        this.doffs.pop();
        continue;
      }
      const e = d[i]!;
      const dn = this.dns[t]!;
      const doff = this.doffs[t]!;
      if (e.k === 3) {
        this.idx[t] = i + 1;
        this.docs.push(e.doc);
        this.idx.push(0);
        this.dns.push(dn + e.nest);
        this.doffs.push(doff + e.offset);
        continue;
      }
      let w: WorkE;
      if (e.k === 0) {
        w =
          dn === 0 && doff === 0
            ? e
            : {
                k: 0,
                nest: e.nest + dn,
                offset: e.offset + doff,
                kind: e.kind,
                text: e.text,
                w: e.w,
              };
      } else if (e.k === 1) w = e;
      else w = { k: 4, kind: e.kind, doc: e.doc, dn, doff };
      this.cached = w;
      return w;
    }
  }

  /** Consume the element `peek` returned. */
  skip(): void {
    this.cached = undefined;
    this.idx[this.idx.length - 1]!++;
  }
}

function splitGroup(kind: GroupKind, g: FixedGroupE | PendingGroupE): Split {
  const fixed = g.k === 4 ? fixupDoc(g.doc, g.dn, g.doff) : fixupDoc(g.doc, 0, 0);
  let a = 0;
  while (a < fixed.length && (isHardOrHardspace(fixed[a]!) || isComment(fixed[a]!))) a++;
  let b = fixed.length;
  while (b > a && isHardOrHardspace(fixed[b - 1]!)) b--;
  // Most groups have nothing to move out: no copies then.
  return {
    pre: a === 0 ? NONE : fixed.slice(0, a),
    body: simplifyGroup(kind, a === 0 && b === fixed.length ? fixed : fixed.slice(a, b)),
    post: b === fixed.length ? NONE : fixed.slice(b),
  };
}

/** Push `items` so that the first of them is popped next. */
function pushFront(work: WorkE[], items: Fixed): void {
  for (let i = items.length - 1; i >= 0; i--) work.push(items[i]!);
}

/** Apply the shifts and fix up (see above); the result is what `layout` takes. */
export function fixup(input: Doc): Fixed {
  return fixupDoc(input, 0, 0);
}

/**
 * The elements still to fix up are `work` (a stack: its top is next), then the cursor over
 * the input: only what is pushed back is copied, not the whole input of every group.
 */
function fixupDoc(input: Doc, dn: number, doff: number): FixedE[] {
  const out: FixedE[] = [];
  const work: WorkE[] = [];
  const cur = new Cursor(input, dn, doff);
  for (;;) {
    let x: WorkE;
    if (work.length > 0) x = work.pop()!;
    else {
      const p = cur.peek();
      if (p === undefined) break;
      cur.skip();
      x = p;
    }
    const fromWork = work.length > 0;
    const y: WorkE | undefined = fromWork ? work[work.length - 1] : cur.peek();
    if (x.k === 1 && y?.k === 1) {
      if (fromWork) work.pop();
      else cur.skip();
      work.push({ k: 1, sp: mergeSpacing(x.sp, y.sp) });
      continue;
    }
    if (x.k === 0 && y?.k === 0 && x.kind === y.kind) {
      if (fromWork) work.pop();
      else cur.skip();
      work.push({
        k: 0,
        nest: x.nest,
        offset: x.offset,
        kind: x.kind,
        text: x.text + y.text,
        w: x.w + y.w,
      });
      continue;
    }
    const yGroup = y !== undefined && (y.k === 2 || y.k === 4);
    if (x.k === 1 && x.sp === Sp.Hardspace && yGroup) {
      if (fromWork) work.pop();
      else cur.skip();
      const g = y as FixedGroupE | PendingGroupE;
      const doc: DocE[] = [x];
      for (const z of g.doc) doc.push(z);
      work.push(
        g.k === 4
          ? { k: 4, kind: g.kind, doc, dn: g.dn, doff: g.doff }
          : { k: 4, kind: g.kind, doc, dn: 0, doff: 0 },
      );
      continue;
    }
    if (x.k === 1 && yGroup) {
      if (fromWork) work.pop();
      else cur.skip();
      const g = y as FixedGroupE | PendingGroupE;
      const { pre, body, post } = splitGroup(g.kind, g);
      if (body.length === 0) {
        pushFront(work, post);
        pushFront(work, pre);
        work.push(x);
      } else {
        if (pre.length === 0) out.push(x);
        else {
          const head: FixedE[] = [x];
          for (const z of pre) head.push(z);
          for (const z of fixupDoc(head, 0, 0)) out.push(z);
        }
        out.push({ k: 2, kind: g.kind, doc: body });
        pushFront(work, post);
      }
      continue;
    }
    if (x.k === 2 || x.k === 4) {
      const { pre, body, post } = splitGroup(x.kind, x);
      if (body.length === 0) {
        pushFront(work, post);
        pushFront(work, pre);
      } else {
        if (pre.length > 0) for (const z of fixupDoc(pre, 0, 0)) out.push(z);
        out.push({ k: 2, kind: x.kind, doc: body });
        pushFront(work, post);
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
