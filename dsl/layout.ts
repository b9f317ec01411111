/**
 * The renderer of nixfmt's `Predoc` (nixfmt 1.x), over the flat token stream of `doc.ts`: the
 * only way to make our output a fixed point of `nixfmt --strict` by construction, rather than
 * by luck. Differences from Prettier's doc printer that matter here (docs/design.md §3.2): the
 * width limit does not count indentation, several nests opened on one line give a single
 * indentation step, and "priority groups" let a call keep its head on one line while its last
 * argument expands.
 *
 * A group is its token range; "the rest of the document" after a token, which nixfmt's
 * renderer looks ahead into, is the tail of the stream after it (closes are transparent to
 * lookahead), so it costs nothing to pass on. Only the priority rule builds new sequences
 * (the parts of a call before and after its expanded argument); they are copied to the end of
 * the stream, used, and dropped.
 */
import {
  CLOSE,
  COMMENT,
  GroupKind,
  HAS_HARD,
  HAS_PRIORITY,
  KIND_MASK,
  OPEN,
  REGULAR,
  SPACING,
  Sp,
  type Tokens,
  mergeSpacing,
  widen,
} from "./doc.ts";

/** What follows a range being laid out: tokens `[j, to)`, then `next`. */
interface Rest {
  readonly j: number;
  readonly to: number;
  readonly next: Rest | null;
}

// The stream being laid out (module state: layout never re-enters itself).
let op: Int32Array = new Int32Array(0);
let ta: Int32Array = new Int32Array(0);
let tb: Int32Array = new Int32Array(0);
let tc: Int32Array = new Int32Array(0);
let ts: string[] = [];

/** Room for `k` more tokens at {@link top} (the document's arrays, widened when needed). */
function reserve(k: number): void {
  if (top + k <= op.length) return;
  const size = Math.max(op.length * 2, top + k);
  op = widen(op, size);
  ta = widen(ta, size);
  tb = widen(tb, size);
  tc = widen(tc, size);
}
/** Tokens in use: the document, then the copies of the priority rule in progress. */
let top = 0;

// ---------------------------------------------------------------------------------------------
// Fitting on one line

/** Width of the last successful {@link fits}. */
let fitsW = 0;

/**
 * Do tokens `[from, to)` (without token `skip`) fit on one line within `cap` columns, with
 * groups compact? Sets {@link fitsW}; with `collect`, the text is appended to the output as it
 * is measured (the caller takes it back if it does not fit).
 */
function fits(cap: number, from: number, to: number, skip: number, collect: boolean): boolean {
  let c = cap;
  let w = 0;
  let pending = -1;
  for (let i = from; i < to; i++) {
    const o = op[i]!;
    if (o === SPACING) {
      if (i !== skip) pending = pending < 0 ? ta[i]! : mergeSpacing(pending, ta[i]!);
      continue;
    }
    if (o === OPEN) {
      // A hard line break inside fails the fit wherever it is.
      if (ta[i]! & HAS_HARD) return false;
      continue;
    }
    if (o === CLOSE) continue;
    if (pending >= 0) {
      if (pending >= Sp.Hardline) return false;
      if (pending === Sp.Softspace || pending === Sp.Space || pending === Sp.Hardspace) {
        if (collect) out[on++] = " ";
        w += 1;
        c -= 1;
        if (c < 0) return false;
      }
      pending = -1;
    }
    if (o === REGULAR) {
      w += ta[i]!;
      c -= ta[i]!;
      if (c < 0) return false;
      if (collect) out[on++] = ts[i]!;
    } else if (o === COMMENT) {
      w += ta[i]!;
      if (collect) out[on++] = ts[i]!;
    }
  }
  if (pending >= 0) {
    if (pending >= Sp.Hardline) return false;
    if (pending === Sp.Softspace || pending === Sp.Space || pending === Sp.Hardspace) {
      if (collect) out[on++] = " ";
      w += 1;
      c -= 1;
      if (c < 0) return false;
    }
  }
  fitsW = w;
  return true;
}

/**
 * Width of the first line of `[j, to)` then `rest` when every group is expanded, or some
 * number above `cap` when it is wider than that.
 */
function firstLineWidth(j0: number, to0: number, rest0: Rest | null, cap: number): number {
  let w = 0;
  let pending = -1;
  let j = j0;
  let to = to0;
  let rest = rest0;
  for (;;) {
    if (j >= to) {
      if (rest === null) break;
      j = rest.j;
      to = rest.to;
      rest = rest.next;
      continue;
    }
    const o = op[j]!;
    if (o === SPACING) {
      pending = pending < 0 ? ta[j]! : mergeSpacing(pending, ta[j]!);
    } else if (o <= 2) {
      if (pending >= 0) {
        if (pending !== Sp.Hardspace) return w;
        w += 1;
        pending = -1;
      }
      if (o !== COMMENT) w += ta[j]!;
      // Past `cap` the caller's fit fails whatever follows, so the exact width does not matter.
      if (w > cap) return w;
    }
    j++;
  }
  if (pending === Sp.Hardspace) w += 1;
  return w;
}

/**
 * Does group `g` (or, for `g` = -1, the range `[from, to)`) fit within `c` columns, followed
 * by the first line of what comes after it?
 */
function fitsBefore(
  c: number,
  g: number,
  from: number,
  to: number,
  skip: number,
  j: number,
  jTo: number,
  rest: Rest | null,
  collect: boolean,
): boolean {
  if (c < 0) return false;
  if (g >= 0) {
    const flags = ta[g]!;
    if (flags & HAS_HARD || tc[g]! > c) return false;
  }
  return fits(c - firstLineWidth(j, jTo, rest, c), from, to, skip, collect);
}

/** Does the first line of `[j, to)` then `rest` fit in `targetWidth`, with groups compact where they fit? */
function firstLineFits(
  targetWidth: number,
  maxWidth: number,
  j0: number,
  to0: number,
  rest0: Rest | null,
): boolean {
  let c = maxWidth;
  let pending = -1;
  let j = j0;
  let to = to0;
  let rest = rest0;
  for (;;) {
    if (c < 0) return false;
    if (j >= to) {
      if (rest === null) {
        if (pending === Sp.Hardspace) c -= 1;
        else if (pending >= 0) return maxWidth - c <= targetWidth;
        return c >= 0 && maxWidth - c <= targetWidth;
      }
      j = rest.j;
      to = rest.to;
      rest = rest.next;
      continue;
    }
    const o = op[j]!;
    if (o === SPACING) {
      pending = pending < 0 ? ta[j]! : mergeSpacing(pending, ta[j]!);
      j++;
      continue;
    }
    if (o === CLOSE) {
      j++;
      continue;
    }
    if (pending >= 0) {
      if (pending !== Sp.Hardspace) return maxWidth - c <= targetWidth;
      c -= 1;
      pending = -1;
      if (c < 0) return false;
    }
    if (o !== OPEN) {
      if (o === REGULAR) c -= ta[j]!;
      j++;
      continue;
    }
    const end = tb[j]!;
    if (fitsBefore(c, j, j + 1, end, -1, end + 1, to, rest, false)) {
      c -= fitsW;
      j = end + 1;
    } else {
      j++;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output

/** The output so far: pieces `[0, on)` of `out` (kept between layouts: no regrowing). */
const out: string[] = [];
let on = 0;
let cc = 0;
/** The indentation stack, as parallel arrays: columns and nesting level; never empty. */
let indCols: number[] = [0];
let indLevels: number[] = [0];
let width = 100;
let indentWidth = 2;
const SPACES: string[] = [];

function spaces(k: number): string {
  let s = SPACES[k];
  if (s === undefined) {
    s = " ".repeat(k);
    SPACES[k] = s;
  }
  return s;
}

function putText(nl: number, off: number, t: string, w: number): void {
  if (cc === 0) {
    out[on++] = "";
    indent(nl, off, on - 1);
  } else enterLevel(nl);
  out[on++] = t;
  cc += w;
}

/** Text at nesting level `nl` starts a line: set the indentation stack and write it at `slot`. */
function indent(nl: number, off: number, slot: number): void {
  enterLevel(nl);
  const k = indCols[indCols.length - 1]! + off;
  out[slot] = k > 0 ? spaces(k) : "";
}

/** nixfmt's indentation stack on text at level `nl`: several nests on one line count once. */
function enterLevel(nl: number): void {
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
}

function putNL(k: number): void {
  cc = 0;
  out[on++] = k === 1 ? "\n" : "\n".repeat(k);
}

/** The first text in `[from, to)`, or -1. */
function firstText(from: number, to: number): number {
  for (let i = from; i < to; i++) if (op[i]! <= 2) return i;
  return -1;
}

/** Lay out `[from, to)` (group `g`, or -1) on one line; false, state untouched, if it does not fit. */
function goGroup(
  g: number,
  from: number,
  to: number,
  j: number,
  jTo: number,
  rest: Rest | null,
): boolean {
  if (from >= to) return true;
  const saved = on;
  if (cc === 0) {
    // At the start of a line, a leading spacing (the group's, or its first group's) is dropped.
    let start = from;
    let skip = -1;
    if (op[from] === SPACING) start = from + 1;
    else if (op[from] === OPEN && op[from + 1] === SPACING) skip = from + 1;
    out[on++] = ""; // the indentation, once the line is known to fit
    if (!fitsBefore(width, g, start, to, skip, j, jTo, rest, true)) {
      on = saved;
      return false;
    }
    const t = firstText(start, to);
    indent(t >= 0 ? tb[t]! : 0, t >= 0 ? tc[t]! : 0, saved);
    cc += fitsW;
    return true;
  }
  if (!fitsBefore(width - cc, g, from, to, -1, j, jTo, rest, true)) {
    on = saved;
    return false;
  }
  cc += fitsW;
  return true;
}

/** Lay out the children `[from, to)`, followed by `rest`. */
function go(from: number, to: number, rest: Rest | null): void {
  for (let i = from; i < to;) {
    const o = op[i]!;
    if (o <= 2) {
      putText(tb[i]!, tc[i]!, ts[i]!, ta[i]!);
      i++;
      continue;
    }
    if (o === SPACING) {
      if (cc !== 0) spacing(ta[i]!, i + 1, to, rest);
      i++;
      continue;
    }
    // A group (closes are never reached: a group is skipped or entered as a whole).
    const end = tb[i]!;
    if (!goGroup(i, i + 1, end, end + 1, to, rest)) {
      const after: Rest = { j: end + 1, to, next: rest };
      const flags = ta[i]!;
      if (!(
        (flags & KIND_MASK) !== GroupKind.Transparent &&
        flags & HAS_PRIORITY &&
        priority(i, after)
      )) {
        go(i + 1, end, after);
      }
    }
    i = end + 1;
  }
}

function spacing(s: number, j: number, to: number, rest: Rest | null): void {
  switch (s) {
    case Sp.Break:
    case Sp.Space:
    case Sp.Hardline:
      putNL(1);
      break;
    case Sp.Hardspace:
      out[on++] = " ";
      cc += 1;
      break;
    case Sp.Emptyline:
      putNL(2);
      break;
    case Sp.Softbreak:
      if (!firstLineFits(width - cc, width, j, to, rest)) putNL(1);
      break;
    case Sp.Softspace:
      if (firstLineFits(width - cc - 1, width, j, to, rest)) {
        out[on++] = " ";
        cc += 1;
      } else putNL(1);
      break;
    default:
      putNL(s - Sp.Newlines);
  }
}

// ---------------------------------------------------------------------------------------------
// Priority groups

/**
 * The children of group `g` as nixfmt's priority rule sees them, transparent groups opened:
 * `units` holds token ranges (a token, or a whole group) as pairs; `prios[k]` is the index in
 * `units` of a priority group.
 */
function segment(g: number, units: number[], prios: number[]): void {
  const end = tb[g]!;
  for (let i = g + 1; i < end;) {
    const o = op[i]!;
    if (o === OPEN) {
      const e = tb[i]!;
      const kind = ta[i]! & KIND_MASK;
      if (kind === GroupKind.Transparent) segment(i, units, prios);
      else {
        if (kind === GroupKind.Priority) prios.push(units.length);
        units.push(i, e + 1);
      }
      i = e + 1;
    } else {
      units.push(i, i + 1);
      i++;
    }
  }
}

/** Copy tokens `[from, to)` to the end of the stream (closes relocated). */
function copy(from: number, to: number): void {
  reserve(to - from);
  const delta = top - from;
  for (let i = from; i < to; i++) {
    const o = op[i]!;
    op[top] = o;
    ta[top] = ta[i]!;
    tb[top] = o === OPEN ? tb[i]! + delta : tb[i]!;
    tc[top] = tc[i]!;
    ts[top] = ts[i]!;
    top++;
  }
}

/**
 * Copy units `[u0, u1)` of `units`: a priority unit as its children (nixfmt splices the
 * contents of the other priority groups), with `compact` the spacings among them as one-line
 * spacings (nixfmt's `unexpandSpacing` of the part after the expanded one).
 */
function copyUnits(
  units: readonly number[],
  prios: readonly number[],
  u0: number,
  u1: number,
  compact: boolean,
): void {
  for (let u = u0; u < u1; u += 2) {
    let from = units[u]!;
    let to = units[u + 1]!;
    if (prios.includes(u)) {
      from++;
      to--;
    }
    if (!compact) {
      copy(from, to);
      continue;
    }
    for (let i = from; i < to;) {
      const o = op[i]!;
      const e = o === OPEN ? tb[i]! + 1 : i + 1;
      if (o === SPACING) {
        const s = ta[i]!;
        if (s === Sp.Space || s === Sp.Softspace) {
          reserve(1);
          op[top] = SPACING;
          ta[top] = Sp.Hardspace;
          top++;
        } else if (s !== Sp.Break && s !== Sp.Softbreak) copy(i, e);
      } else copy(i, e);
      i = e;
    }
  }
}

/** nixfmt's priority rule for group `g` (which did not fit); true when it laid `g` out. */
function priority(g: number, rest: Rest): boolean {
  const units: number[] = [];
  const prios: number[] = [];
  segment(g, units, prios);
  for (let p = prios.length - 1; p >= 0; p--) {
    const u = prios[p]!;
    const pg = units[u]!;
    // Copies: what comes before the priority group, what comes after, and that again compact.
    const pre = top;
    copyUnits(units, prios, 0, u, false);
    const post = top;
    copyUnits(units, prios, u + 2, units.length, false);
    const compact = top;
    copyUnits(units, prios, u + 2, units.length, true);
    const ok = tryPriority(pre, post, compact, top, pg + 1, tb[pg]!, rest);
    top = pre;
    if (ok) return true;
  }
  return false;
}

/**
 * Lay out `pre` on one line, then the priority group's children `[prio, prioEnd)` expanded,
 * then `post` on one line; on failure, undo all of it and return false.
 */
function tryPriority(
  pre: number,
  post: number,
  compact: number,
  compactEnd: number,
  prio: number,
  prioEnd: number,
  rest: Rest,
): boolean {
  const savedCC = cc;
  const savedCols = indCols.slice();
  const savedLevels = indLevels.slice();
  const savedOut = on;
  if (goGroup(-1, pre, post, prio, prioEnd, { j: post, to: compact, next: rest })) {
    go(prio, prioEnd, { j: compact, to: compactEnd, next: rest });
    if (goGroup(-1, post, compact, rest.j, rest.to, rest.next)) return true;
  }
  cc = savedCC;
  indCols = savedCols;
  indLevels = savedLevels;
  on = savedOut;
  return false;
}

/** Bytes for {@link joinOut}, kept between layouts. */
let latin1 = Buffer.alloc(1 << 16);

/**
 * The output pieces as one string. Text that is all Latin-1 (nearly all Nix is ASCII) is copied
 * into a byte buffer and read back once, which is several times faster than `join` on hundreds
 * of thousands of short pieces; anything else is joined.
 */
function joinOut(): string {
  let buf = latin1;
  let pos = 0;
  for (let i = 0; i < on; i++) {
    const p = out[i]!;
    const k = p.length;
    if (pos + k > buf.length) {
      const wider = Buffer.alloc(Math.max(buf.length * 2, pos + k));
      buf.copy(wider, 0, 0, pos);
      buf = latin1 = wider;
    }
    for (let j = 0; j < k; j++) {
      const c = p.charCodeAt(j);
      if (c > 0xff) {
        out.length = on;
        return out.join("");
      }
      buf[pos++] = c;
    }
  }
  return buf.toString("latin1", 0, pos);
}

/** Lay out a document at `w` columns (not counting indentation). */
export function layout(doc: Tokens, w = 100, indent = 2): string {
  op = doc.op;
  ta = doc.a;
  tb = doc.b;
  tc = doc.c;
  ts = doc.s;
  top = doc.length;
  width = w;
  indentWidth = indent;
  on = 0;
  cc = 0;
  indCols = [0];
  indLevels = [0];
  go(0, doc.length, null);
  const text = joinOut();
  return text;
}
