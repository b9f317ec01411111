/**
 * The layout document as one flat token stream, with nixfmt's `fixup` applied while it is
 * written (nixfmt's `Predoc`, 1.x). `format.ts` writes the document in order through the
 * functions below; `layout.ts` reads the finished stream.
 *
 * Why flat: a tree of documents costs an object per node, a second tree for fixup and a walk
 * per pass; here every token is one slot in a few parallel arrays, a group is an open and a
 * close token (the open knows where its close is), and fixup runs once, as tokens arrive.
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

export enum GroupKind {
  Regular = 0,
  /** Expanded first when the parent does not fit (e.g. a call's last argument). */
  Priority = 1,
  /** Lets priority groups inside belong to the parent. */
  Transparent = 2,
}

/**
 * Token codes. A text's code is its kind: regular text, a comment (counts for width only where
 * it starts a line), or trailing text (printed only when its group is expanded, e.g. a comma).
 */
export const REGULAR = 0;
export const COMMENT = 1;
export const TRAILING = 2;
export const SPACING = 3;
export const OPEN = 4;
export const CLOSE = 5;
/** A group dissolved by fixup after it was opened; dropped before layout. */
const NOP = 6;

/** Flags of an open token, above its group kind. */
export const HAS_HARD = 4;
export const HAS_PRIORITY = 8;
export const KIND_MASK = 3;

/**
 * A finished document, valid until the next one is begun (the arrays are reused). Token `i`
 * is `op[i]` with:
 * - a text: `a` its width in columns, `b` its nesting level, `c` its column offset, `s` its text;
 * - a spacing: `a` its {@link Sp};
 * - an open: `a` its kind plus {@link HAS_HARD} (a hard line break somewhere inside: it never
 *   fits on one line) and {@link HAS_PRIORITY} (a priority group among its children, looking
 *   through transparent ones), `b` the index of its close, `c` the width of its regular text
 *   (a lower bound of its width on one line).
 */
export interface Tokens {
  readonly length: number;
  readonly op: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly c: Int32Array;
  readonly s: string[];
}

export function mergeSpacing(x0: number, y0: number): number {
  const x = x0 > y0 ? y0 : x0;
  const y = x0 > y0 ? x0 : y0;
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

const isHard = (sp: number): boolean => sp === Sp.Hardspace || sp >= Sp.Hardline;

// ---------------------------------------------------------------------------------------------
// The output stream (module state: one document is written at a time, and not re-entered)

// Grown by doubling and reused from one document to the next: a store into a fresh, growing
// array costs several times one into an array that has the room already.
let op: Int32Array = new Int32Array(1024);
let ta: Int32Array = new Int32Array(1024);
let tb: Int32Array = new Int32Array(1024);
let tc: Int32Array = new Int32Array(1024);
let ts: string[] = new Array<string>(1024).fill("");
let n = 0;

/** `x` copied into a new array of `size` (its capacity, grown). */
export function widen(x: Int32Array, size: number): Int32Array {
  const y = new Int32Array(size);
  y.set(x);
  return y;
}

function grow(): void {
  const size = op.length * 2;
  const strings = new Array<string>(size).fill("");
  for (let i = 0; i < n; i++) strings[i] = ts[i]!;
  ts = strings;
  op = widen(op, size);
  ta = widen(ta, size);
  tb = widen(tb, size);
  tc = widen(tc, size);
}
/** The text token a next text of the same kind may merge into, or -1 (see {@link inText}). */
let mergeAt = -1;

function put(code: number, a: number, b: number, c: number, s: string): void {
  if (n === op.length) grow();
  op[n] = code;
  ta[n] = a;
  tb[n] = b;
  tc[n] = c;
  if (code <= TRAILING) ts[n] = s;
  n++;
}

// ---------------------------------------------------------------------------------------------
// Fixup, online
//
// nixfmt's fixup moves hard spacing and comments out of the edges of every group, merges
// neighbouring spacings and texts, and drops groups left empty. Here each open group is a level
// whose open token is written only once its first element that stays inside arrives (until
// then it is "leading": what arrives moves out to the parent as it comes). The spacing last
// seen in a level is held back ("pending") until the next element: at the group's end it moves
// out if hard. Levels are parallel arrays indexed by depth; level 0 is the document itself.

let depth = 0;
const lvKind: number[] = [GroupKind.Regular];
const lvLeading: boolean[] = [false];
const lvPending: number[] = [-1];
const lvOpenAt: number[] = [-1];
const lvCount: number[] = [0];
const lvFirst: number[] = [-1];
/** Width of the regular text written in the level, and its open token's flags. */
const lvWidth: number[] = [0];
const lvFlags: number[] = [0];
let nops = 0;

function spacingAt(d: number, sp: number): void {
  const p = lvPending[d]!;
  lvPending[d] = p < 0 ? sp : mergeSpacing(p, sp);
}

/** Write level `d`'s pending spacing (the level is written, not leading). */
function flush(d: number): void {
  const p = lvPending[d]!;
  if (p < 0) return;
  lvPending[d] = -1;
  put(SPACING, p, 0, 0, "");
  mergeAt = -1;
  if (p >= Sp.Hardline) lvFlags[d] = lvFlags[d]! | HAS_HARD;
  if (lvCount[d]++ === 0) lvFirst[d] = n - 1;
}

/** Level `d` gets an element that stays inside: write its open token (and its parents'). */
function materialize(d: number): void {
  const p = lvPending[d]!;
  if (p >= 0 && isHard(p)) {
    lvPending[d] = -1;
    spacingAt(d - 1, p);
  }
  if (lvLeading[d - 1]!) materialize(d - 1);
  flush(d - 1);
  put(OPEN, lvKind[d]!, 0, 0, "");
  mergeAt = -1;
  lvOpenAt[d] = n - 1;
  if (lvCount[d - 1]++ === 0) lvFirst[d - 1] = n - 1;
  lvLeading[d] = false;
  lvCount[d] = 0;
  lvWidth[d] = 0;
  lvFlags[d] = 0;
}

function textAt(d: number, kind: number, t: string, w: number, nest: number, off: number): void {
  if (lvLeading[d]!) {
    const p = lvPending[d]!;
    if (kind === COMMENT && (p < 0 || isHard(p))) {
      // A comment at a group's start moves out, with the hard spacing before it.
      lvPending[d] = -1;
      if (p >= 0) spacingAt(d - 1, p);
      textAt(d - 1, kind, t, w, nest, off);
      return;
    }
    materialize(d);
  }
  flush(d);
  const last = n - 1;
  if (mergeAt === last && op[last] === kind) {
    // Merged texts keep the nesting and offset of the first, as nixfmt merges them.
    ts[last] += t;
    ta[last] += w;
    if (kind === REGULAR) lvWidth[d] = lvWidth[d]! + w;
    return;
  }
  if (kind === REGULAR) lvWidth[d] = lvWidth[d]! + w;
  put(kind, w, nest, off, t);
  mergeAt = n - 1;
  if (lvCount[d]++ === 0) lvFirst[d] = n - 1;
}

function openAt(d: number, kind: number): void {
  // A hard space just before a group moves inside it; a text before a group is final.
  let pending = -1;
  if (lvPending[d] === Sp.Hardspace) {
    lvPending[d] = -1;
    pending = Sp.Hardspace;
  }
  mergeAt = -1;
  const c = d + 1;
  lvKind[c] = kind;
  lvLeading[c] = true;
  lvPending[c] = pending;
  lvOpenAt[c] = -1;
  lvCount[c] = 0;
  lvFirst[c] = -1;
  depth = c;
}

function closeAt(d: number): void {
  depth = d - 1;
  let p = lvPending[d]!;
  lvPending[d] = -1;
  if (lvLeading[d]!) {
    // Nothing stayed inside: the group dissolves, its spacing moves out.
    if (p < 0) return;
    if (isHard(p)) {
      spacingAt(d - 1, p);
      return;
    }
    lvPending[d] = p;
    materialize(d);
    flush(d);
    p = -1;
  } else if (p >= 0 && !isHard(p)) {
    lvPending[d] = p;
    flush(d);
    p = -1;
  }
  const first = lvFirst[d]!;
  const fop = op[first];
  const kind = lvKind[d]!;
  const at = lvOpenAt[d]!;
  const flags = lvFlags[d]!;
  if (lvCount[d] === 1 && (fop === OPEN || fop === NOP) && (ta[first]! & KIND_MASK) === kind) {
    // A group holding only a group of its kind is that group.
    op[at] = NOP;
    nops++;
  } else {
    tb[at] = n;
    tc[at] = lvWidth[d]!;
    ta[at] = kind | flags;
    put(CLOSE, 0, 0, 0, "");
  }
  lvWidth[d - 1] = lvWidth[d - 1]! + lvWidth[d]!;
  let up = flags & HAS_HARD;
  if (kind === GroupKind.Priority || (kind === GroupKind.Transparent && flags & HAS_PRIORITY))
    up |= HAS_PRIORITY;
  lvFlags[d - 1] = lvFlags[d - 1]! | up;
  mergeAt = -1;
  if (p >= 0) spacingAt(d - 1, p);
}

// ---------------------------------------------------------------------------------------------
// Captures: a part of the document kept raw (before fixup), to be laid out compactly if it can
// be (nixfmt's `unexpandSpacing'`), then fed to fixup.

let capDepth = 0;
const rOp: number[] = [];
const rA: number[] = [];
const rB: number[] = [];
const rC: number[] = [];
const rS: string[] = [];
let rn = 0;

function rput(code: number, a: number, b: number, c: number, s: string): void {
  rOp[rn] = code;
  rA[rn] = a;
  rB[rn] = b;
  rC[rn] = c;
  rS[rn] = s;
  rn++;
}

/** Start keeping what follows raw; returns the mark to pass to the other capture functions. */
export function captureBegin(): number {
  capDepth++;
  return rn;
}

/**
 * Make the raw part from `mark` compact: every spacing that can be a space one space, the
 * others nothing, groups dissolved. False (nothing changed) when it holds a hard line break
 * or would be wider than `limit`.
 */
export function captureCompact(mark: number, limit = Infinity): boolean {
  let budget = limit;
  for (let i = mark; i < rn; i++) {
    const o = rOp[i]!;
    if (o <= TRAILING) budget -= rA[i]!;
    else if (o === SPACING) {
      const sp = rA[i]!;
      if (sp === Sp.Hardspace || sp === Sp.Space || sp === Sp.Softspace) budget -= 1;
      else if (sp !== Sp.Break && sp !== Sp.Softbreak) return false;
    }
    if (budget < 0) return false;
  }
  let w = mark;
  for (let i = mark; i < rn; i++) {
    const o = rOp[i]!;
    if (o === OPEN || o === CLOSE) continue;
    if (o === SPACING) {
      const sp = rA[i]!;
      if (sp === Sp.Break || sp === Sp.Softbreak) continue;
      rOp[w] = SPACING;
      rA[w] = Sp.Hardspace;
    } else {
      rOp[w] = o;
      rA[w] = rA[i]!;
      rB[w] = rB[i]!;
      rC[w] = rC[i]!;
      rS[w] = rS[i]!;
    }
    w++;
  }
  rn = w;
  return true;
}

/** Wrap the raw part from `mark` as `line_ <> nest part <> line_`. */
export function captureIndent(mark: number): void {
  for (let i = rn; i > mark; i--) {
    rOp[i] = rOp[i - 1]!;
    rA[i] = rA[i - 1]!;
    rB[i] = rB[i - 1]! + (rOp[i]! <= TRAILING ? 1 : 0);
    rC[i] = rC[i - 1]!;
    rS[i] = rS[i - 1]!;
  }
  rOp[mark] = SPACING;
  rA[mark] = Sp.Break;
  rn++;
  rput(SPACING, Sp.Break, 0, 0, "");
}

/** Stop keeping raw; the outermost capture feeds what it kept to fixup. */
export function captureEnd(): void {
  if (--capDepth > 0) return;
  const count = rn;
  rn = 0;
  for (let i = 0; i < count; i++) {
    const o = rOp[i]!;
    if (o <= TRAILING) textAt(depth, o, rS[i]!, rA[i]!, rB[i]!, rC[i]!);
    else if (o === SPACING) spacingAt(depth, rA[i]!);
    else if (o === OPEN) openAt(depth, rA[i]!);
    else closeAt(depth);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing a document

/** The nesting level and column offset that texts written now get (`nest`, `offset`). */
let dn = 0;
let doff = 0;

/** Write a text of `kind` (nothing for an empty one). */
export function textOf(kind: number, t: string): void {
  if (t === "") return;
  const w = textWidth(t);
  if (capDepth > 0) rput(kind, w, dn, doff, t);
  else textAt(depth, kind, t, w, dn, doff);
}

/** Write regular text. */
export function text(t: string): void {
  textOf(REGULAR, t);
}

/** Write a spacing. */
export function sp(s: Sp): void {
  if (capDepth > 0) rput(SPACING, s, 0, 0, "");
  else spacingAt(depth, s);
}

/** Open a group; every open is matched by {@link close}. */
export function open(kind: GroupKind = GroupKind.Regular): void {
  if (capDepth > 0) rput(OPEN, kind, 0, 0, "");
  else openAt(depth, kind);
}

export function close(): void {
  if (capDepth > 0) rput(CLOSE, 0, 0, 0, "");
  else closeAt(depth);
}

/** Texts written until {@link nestOut} are one nesting level deeper. */
export function nestIn(): void {
  dn++;
}
export function nestOut(): void {
  dn--;
}

/** Texts written until {@link offsetOut} are shifted by `k` columns (indented-string lines). */
export function offsetIn(k: number): void {
  doff += k;
}
export function offsetOut(k: number): void {
  doff -= k;
}

// ---------------------------------------------------------------------------------------------
// Runs: token sequences written straight to the stream, past fixup. Only for sequences fixup
// would leave exactly as written: they start with an open, hold no spacing at a group's edge
// that fixup would move, no hard line break, no comment and no group it would dissolve; the
// caller (format.ts) knows which of its rules write such sequences.

/** Index of a run's first token. */
let runFirst = 0;

/**
 * Can a run be written at the current position? Not inside a capture (it is kept raw, for
 * compacting), nor after a hard space (fixup would move it into the run's first group).
 */
export function canRun(): boolean {
  return capDepth === 0 && lvPending[depth] !== Sp.Hardspace;
}

/**
 * Begin a run where {@link canRun}: what fixup does before a group's first element that stays
 * inside (the parent's pending spacing written, and its open token if it has none yet).
 */
export function runBegin(): void {
  const d = depth;
  if (lvLeading[d]!) materialize(d);
  flush(d);
  mergeAt = -1;
  runFirst = n;
}

/** A regular group's open token in a run; returns its index, for {@link runClose}. */
export function runOpen(): number {
  put(OPEN, GroupKind.Regular, 0, 0, "");
  return n - 1;
}

/** Regular text in a run, `w` columns wide, at the current nesting and offset. */
export function runText(t: string, w: number): void {
  put(REGULAR, w, dn, doff, t);
}

/** A spacing in a run (not a hard line break: a run's groups carry no {@link HAS_HARD}). */
export function runSpacing(s: Sp): void {
  put(SPACING, s, 0, 0, "");
}

/** Close the group opened at `at` in a run; `width` is the width of its regular text. */
export function runClose(at: number, width: number): void {
  tb[at] = n;
  tc[at] = width;
  put(CLOSE, 0, 0, 0, "");
}

/** End a run: it is one element of the enclosing group, adding `width` columns of text. */
export function runEnd(width: number): void {
  const d = depth;
  if (lvCount[d]++ === 0) lvFirst[d] = runFirst;
  lvWidth[d] = lvWidth[d]! + width;
  mergeAt = -1;
}

/** Start a document: the whole of it is a group of its own, as nixfmt lays out a file. */
export function beginDocument(): void {
  n = 0;
  mergeAt = -1;
  depth = 0;
  lvPending[0] = -1;
  lvCount[0] = 0;
  lvFirst[0] = -1;
  lvWidth[0] = 0;
  lvFlags[0] = 0;
  nops = 0;
  dn = 0;
  doff = 0;
  capDepth = 0;
  rn = 0;
  put(OPEN, GroupKind.Regular, 0, 0, "");
}

/**
 * End the document. Open tokens got their close, flags and width when they closed; groups
 * dissolved after they were opened are dropped here (their ends move), when there are any.
 */
export function endDocument(): Tokens {
  if (depth !== 0 || capDepth !== 0) throw new Error("unbalanced document");
  flush(0);
  tb[0] = n;
  tc[0] = lvWidth[0]!;
  ta[0] = GroupKind.Regular | lvFlags[0]!;
  put(CLOSE, 0, 0, 0, "");
  if (nops > 0) dropDissolved();
  return { length: n, op, a: ta, b: tb, c: tc, s: ts };
}

function dropDissolved(): void {
  const stack: number[] = [];
  let w = 0;
  for (let i = 0; i < n; i++) {
    const o = op[i]!;
    if (o === NOP) continue;
    if (w !== i) {
      op[w] = o;
      ta[w] = ta[i]!;
      tb[w] = tb[i]!;
      tc[w] = tc[i]!;
      ts[w] = ts[i]!;
    }
    if (o === OPEN) stack.push(w);
    else if (o === CLOSE) tb[stack.pop()!] = w;
    w++;
  }
  n = w;
}
