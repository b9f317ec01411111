/**
 * Layout rules of RFC 166 as implemented by nixfmt 1.x in `--strict` mode (no source positions
 * to preserve), expressed over the concrete syntax of `syntax.ts`. Each function mirrors one
 * rule of nixfmt's `Pretty.hs`, so the printed text is a fixed point of the official formatter.
 *
 * The functions write the document in order (`doc.ts`) instead of returning document values:
 * where nixfmt writes `a <> group (b <> nest c)`, the code here is `a(); open(); b(); nestIn();
 * c(); nestOut(); close()`.
 */
import {
  COMMENT,
  GroupKind,
  REGULAR,
  Sp,
  TRAILING,
  type Tokens,
  beginDocument,
  canRun,
  captureBegin,
  captureCompact,
  captureEnd,
  captureIndent,
  close,
  endDocument,
  nestIn,
  nestOut,
  offsetIn,
  offsetOut,
  open,
  runBegin,
  runClose,
  runEnd,
  runOpen,
  runSpacing,
  runText,
  sp,
  text,
  textOf,
} from "./doc.ts";
import type { NixAttrBinding, NixBinding, NixExpr } from "./ast.ts";
import {
  type Binder,
  BindingsLowering,
  type Expr,
  type Line,
  type Param,
  type ParamAttr,
  type Sel,
  type Term,
  NOT_LEAF,
  STRING_LEAF,
  isSingleInherit,
  leafKind,
  leafText,
  lower,
  lowerTerm,
} from "./syntax.ts";
import { textWidth } from "./width.ts";

const { Priority, Transparent, Regular } = GroupKind;

/** No spacing (an argument of some rules is "a spacing, or nothing"). */
const NONE = -1;

function spOpt(s: number): void {
  if (s !== NONE) sp(s);
}

// ---------------------------------------------------------------------------------------------
// Classification

function isAbsorbable(t: Term): boolean {
  switch (t.t) {
    case "istring":
      return t.lines.length >= 2;
    case "set":
      return t.bindings.length > 0;
    case "list":
      return t.items.length > 0;
    case "paren":
      return t.expr.t === "term" && isAbsorbable(t.expr.term);
    default:
      return false;
  }
}

function canFlattenAttrs(attrs: readonly ParamAttr[]): boolean {
  return attrs.length <= 2 && attrs.every((a) => a.def === undefined);
}

function isAbsorbableExpr(e: Expr): boolean {
  switch (e.t) {
    case "term":
      return isAbsorbable(e.term);
    case "with":
      return e.body.t === "term" && isAbsorbable(e.body.term);
    case "lambda":
      if (e.param.t === "id") {
        if (e.body.t === "term") return isAbsorbable(e.body.term);
        return e.body.t === "lambda" && isAbsorbableExpr(e.body);
      }
      if (e.param.t === "set" && canFlattenAttrs(e.param.attrs)) return isAbsorbableExpr(e.body);
      return false;
    default:
      return false;
  }
}

function isSimpleTerm(t: Term): boolean {
  switch (t.t) {
    case "sstring":
    case "istring":
    case "path":
      return true;
    case "token":
      // The `assert` keyword put at the head of a call (see insertIntoApp) is a token but not
      // an identifier, so such a call is never simple: its argument may go to its own line.
      return t.text !== "assert";
    case "select":
      return isSimpleTerm(t.term) && t.sels.every((s) => s.t === "id") && t.or === undefined;
    case "paren":
      return isSimple(t.expr);
    default:
      return false;
  }
}

function isSimple(e: Expr): boolean {
  if (e.t === "term") return isSimpleTerm(e.term);
  if (e.t === "app") return isSimpleApp(e.f, e.a);
  return false;
}

function isSimpleApp(f: Expr, a: Expr): boolean {
  if (f.t === "app" && f.f.t === "app") return false;
  return isSimple(f) && isSimple(a);
}

const isUpdateConcatPlus = (op: string): boolean => op === "//" || op === "++" || op === "+";
const isComparison = (op: string): boolean =>
  op === "<" || op === ">" || op === "<=" || op === ">=" || op === "==" || op === "!=";

// ---------------------------------------------------------------------------------------------
// Items, sets, lists

function renderComments(lines: readonly string[]): void {
  sp(Sp.Hardline);
  for (const l of lines) {
    textOf(COMMENT, l === "" ? "#" : `# ${l}`);
    sp(Sp.Hardline);
  }
}

/**
 * `[ … ]`, each item written by `item` as it is reached; an empty list stays `[ ]` (nixfmt's
 * `renderList`).
 */
function renderList<T>(itemSep: Sp, items: readonly T[], item: (item: T) => void): void {
  const sep = items.length === 0 ? Sp.Hardspace : Sp.Space;
  text("[");
  sp(sep);
  nestIn();
  for (let i = 0; i < items.length; i++) {
    if (i > 0) sp(itemSep);
    item(items[i]!);
  }
  nestOut();
  sp(sep);
  text("]");
}

/** An item of a list not lowered yet: a leaf as a run, anything else lowered and laid out. */
function exprItem(e: NixExpr): void {
  if (fastPaths.leaves && canRun() && leafKind(e) !== NOT_LEAF) leafItem(e);
  else listItem(lowerTerm(e));
}

/** `group (pretty item)`. */
function listItem(t: Term): void {
  if (isGroupTerm(t)) prettyTermP(t);
  else {
    open();
    prettyTermP(t);
    close();
  }
}

/** The bindings of a set or `let`, one a line, each lowered as it is reached. */
function renderBinders(bindings: readonly NixBinding[], inLet: boolean): void {
  const lowering = new BindingsLowering(inLet);
  let items = 0;
  for (const b of bindings) {
    const comments = lowering.comments(b);
    if (comments !== undefined) {
      if (items++ > 0) sp(Sp.Hardline);
      renderComments(comments);
    }
    if (items++ > 0) sp(Sp.Hardline);
    if (fastPaths.leaves && canRun()) {
      const lhs = lowering.leafPath(b);
      if (lhs !== undefined) {
        leafBinding(lhs, (b as NixAttrBinding).value);
        continue;
      }
    }
    // `group (pretty binder)`: a binder is a group of its own already.
    prettyBinder(lowering.binder(b));
  }
}

// ---------------------------------------------------------------------------------------------
// Leaves (`syntax.ts`): their tokens are known without a syntax tree, and fixup leaves them as
// they are, so they are written as runs (`doc.ts`). Each writes exactly the tokens the general
// rules write for it (a test compares the two on random expressions).

/** Fast paths, on unless a test compares them with the general rules. */
export const fastPaths = { leaves: true };

/**
 * `name = leaf;`, a binder whose path is plain names (see `prettyBinder` and `absorbRHS`):
 * `group (name <> nest (hardspace <> "=" <> nest rhs) <> ";")`, where the right-hand side of a
 * string is `hardspace <> group string` and of a token `group (line <> token)`.
 */
function leafBinding(lhs: string, value: NixExpr): void {
  const kind = leafKind(value);
  const t = leafText(value);
  const wl = textWidth(lhs);
  const wv = textWidth(t);
  runBegin();
  const outer = runOpen();
  runText(lhs, wl);
  nestIn();
  runSpacing(Sp.Hardspace);
  runText("=", 1);
  nestIn();
  let inner: number;
  if (kind === STRING_LEAF) {
    runSpacing(Sp.Hardspace);
    inner = runOpen();
  } else {
    inner = runOpen();
    runSpacing(Sp.Space);
  }
  runText(t, wv);
  runClose(inner, wv);
  nestOut();
  nestOut();
  runText(";", 1);
  runClose(outer, wl + wv + 2);
  runEnd(wl + wv + 2);
}

/** A leaf as a list item (see `listItem`): `group leaf`. */
function leafItem(item: NixExpr): void {
  const t = leafText(item);
  const w = textWidth(t);
  runBegin();
  const at = runOpen();
  runText(t, w);
  runClose(at, w);
  runEnd(w);
}

function prettySet(wide: boolean, t: Extract<Term, { t: "set" }>): void {
  if (t.rec) {
    text("rec");
    sp(Sp.Hardspace);
  }
  if (t.bindings.length === 0) {
    text("{");
    sp(Sp.Hardspace);
    text("}");
    return;
  }
  const sep = wide ? Sp.Hardline : Sp.Space;
  text("{");
  sp(sep);
  nestIn();
  renderBinders(t.bindings, false);
  nestOut();
  sp(sep);
  text("}");
}

function prettyTermWide(t: Term): void {
  if (t.t === "set") prettySet(true, t);
  else prettyTerm(t);
}

/** `pretty` of a term: lists are grouped on their own. */
function prettyTermP(t: Term): void {
  if (t.t === "list") {
    open();
    prettyTerm(t);
    close();
  } else prettyTerm(t);
}

function prettyTerm(t: Term): void {
  switch (t.t) {
    case "token":
    case "path":
      text(t.text);
      return;
    case "sstring":
      prettySimpleString(t.line);
      return;
    case "istring":
      prettyIndentedString(t.lines);
      return;
    case "list":
      if (t.items.length === 0) {
        text("[");
        sp(Sp.Hardspace);
        text("]");
      } else renderList(Sp.Hardline, t.items, exprItem);
      return;
    case "set":
      prettySet(false, t);
      return;
    case "select": {
      const base = t.term;
      // `pretty` of the base, as nixfmt has it: a list base is a group of its own, so a list
      // that fits does not set the indentation of the selectors on the next line.
      prettyTermP(base);
      if (base.t === "token") {
        if (base.num) sp(Sp.Hardspace);
      } else sp(base.t === "paren" ? Sp.Softbreak : Sp.Break);
      for (const s of t.sels) {
        text(".");
        prettySel(s);
      }
      if (t.or !== undefined) {
        sp(Sp.Softspace);
        nestIn();
        text("or");
        sp(Sp.Hardspace);
        prettyTermP(t.or);
        nestOut();
      }
      return;
    }
    case "paren":
      open();
      text("(");
      nestIn();
      parenInner(t.expr);
      nestOut();
      text(")");
      close();
      return;
  }
}

/** Is `pretty t` one regular group (see {@link isGroupExpr})? */
function isGroupTerm(t: Term): boolean {
  const k = t.t;
  return k === "list" || k === "sstring" || k === "istring" || k === "paren";
}

/**
 * Is `pretty e` one regular group? Then `group e` is that group (fixup dissolves a group that
 * holds only a group of its kind), and writing one saves the stream a token to drop.
 */
function isGroupExpr(e: Expr): boolean {
  switch (e.t) {
    case "term":
      return isGroupTerm(e.term);
    case "if":
    case "app":
    case "assert":
      return true;
    case "op":
      return !isComparison(e.op);
    case "lambda":
      return e.param.t === "id";
    default:
      return false;
  }
}

function groupExpr(e: Expr, kind: GroupKind = Regular): void {
  if (kind === Regular && isGroupExpr(e)) {
    prettyExpr(e);
    return;
  }
  open(kind);
  prettyExpr(e);
  close();
}

function parenInner(e: Expr): void {
  if (isAbsorbableExpr(e)) {
    groupAbsorbed(false, e);
  } else if (e.t === "app") {
    prettyApp(true, NONE, true, e.f, e.a);
  } else if (e.t === "term" && e.term.t === "select") {
    if (isAbsorbable(e.term.term)) sp(Sp.Break);
    groupExpr(e);
    sp(Sp.Break);
  } else {
    sp(Sp.Break);
    groupExpr(e);
    sp(Sp.Break);
  }
}

function prettySel(s: Sel): void {
  switch (s.t) {
    case "id":
      text(s.name);
      return;
    case "str":
      prettySimpleString(s.line);
      return;
    case "interp":
      prettyInterpolation(s.expr);
      return;
  }
}

function prettySels(sels: readonly Sel[]): void {
  for (let i = 0; i < sels.length; i++) {
    if (i > 0) text(".");
    prettySel(sels[i]!);
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

function prettyInterpolation(e: Expr): void {
  if (e.t === "term" && isAbsorbable(e.term)) {
    open();
    text("${");
    prettyTerm(e.term);
    text("}");
    close();
    return;
  }
  if (isSimple(e)) {
    text("${");
    const mark = captureBegin();
    prettyExpr(e);
    captureCompact(mark);
    captureEnd();
    text("}");
    return;
  }
  // On one line if that takes at most 30 columns, else on lines of its own.
  open();
  text("${");
  const mark = captureBegin();
  groupExpr(e);
  if (!captureCompact(mark, 30)) captureIndent(mark);
  captureEnd();
  text("}");
  close();
}

/**
 * Leading white space as Haskell's `isSpace` sees it (what nixfmt's `Text.takeWhile isSpace`
 * measures): tab to carriage return and the space separators (category Zs). Unlike JavaScript's
 * `\s`, it excludes U+2028, U+2029 and U+FEFF, so text starting with those gets no offset.
 */
const HASKELL_SPACES = /^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*/;

/** Columns of leading white space (see {@link HASKELL_SPACES}); a plain loop for ASCII text. */
function leadingSpaces(t: string): number {
  if (t.length === 0) return 0;
  const c0 = t.charCodeAt(0);
  if (c0 > 32 && c0 < 127) return 0;
  return HASKELL_SPACES.exec(t)![0].length;
}

const allSpaces = (t: string): boolean => {
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) !== 32) return false;
  return true;
};

function interpolationLine(pre: string, e: Expr): void {
  text(pre);
  offsetIn(pre.length);
  open();
  text("${");
  nestIn();
  parenInner(e);
  nestOut();
  text("}");
  close();
  offsetOut(pre.length);
}

function prettyLine(parts: Line): void {
  const first = parts[0];
  if (first === undefined) return;
  if (parts.length === 1 && first.t === "interp") {
    interpolationLine("", first.expr);
    return;
  }
  const second = parts[1];
  if (parts.length === 2 && first.t === "text" && second!.t === "interp" && allSpaces(first.text)) {
    interpolationLine(first.text, second!.expr);
    return;
  }
  if (first.t === "text") {
    text(first.text);
    const k = leadingSpaces(first.text);
    offsetIn(k);
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.t === "text") text(p.text);
      else prettyInterpolation(p.expr);
    }
    offsetOut(k);
    return;
  }
  for (const p of parts) {
    if (p.t === "text") text(p.text);
    else prettyInterpolation(p.expr);
  }
}

function prettySimpleString(l: Line): void {
  const only = l.length === 1 ? l[0]! : undefined;
  if (l.length === 0 || only?.t === "text") {
    // One text: the three texts fixup would merge, as one.
    open();
    text(only?.t === "text" ? `"${only.text}"` : '""');
    close();
    return;
  }
  open();
  text('"');
  prettyLine(l);
  text('"');
  close();
}

function prettyIndentedString(lines: readonly Line[]): void {
  open();
  text("''");
  if (lines.length >= 2) sp(Sp.Break);
  nestIn();
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) sp(Sp.Newlines + 1);
    prettyLine(lines[i]!);
  }
  nestOut();
  text("''");
  close();
}

// ---------------------------------------------------------------------------------------------
// Bindings

function prettyBinder(b: Binder): void {
  if (b.t === "inherit") {
    const few = b.names.length < 4;
    const sep = few ? Sp.Space : Sp.Hardline;
    const nosep = few ? Sp.Break : Sp.Hardline;
    open();
    text("inherit");
    if (b.from === undefined) {
      sp(sep);
      nestIn();
    } else {
      nestIn();
      open();
      sp(Sp.Space);
      prettyTermP(b.from);
      close();
      sp(sep);
    }
    for (let i = 0; i < b.names.length; i++) {
      if (i > 0) sp(sep);
      prettySel(b.names[i]!);
    }
    sp(nosep);
    text(";");
    nestOut();
    close();
    return;
  }
  const simpleLhs = b.sels.length <= 4 && b.sels.every((s) => s.t === "id");
  open();
  prettySels(b.sels);
  nestIn();
  sp(Sp.Hardspace);
  text("=");
  if (simpleLhs) absorbRHS(b.expr);
  else {
    sp(Sp.Break);
    open(Priority);
    absorbRHS(b.expr);
    close();
  }
  nestOut();
  text(";");
  close();
}

function absorbParen(e: Expr): void {
  open(Priority);
  nestIn();
  text("(");
  sp(Sp.Break);
  open();
  nestIn();
  prettyExpr(e);
  nestOut();
  close();
  sp(Sp.Break);
  text(")");
  nestOut();
  close();
}

function absorbExpr(wide: boolean, e: Expr): void {
  if (e.t === "term" && isAbsorbable(e.term)) {
    if (wide) prettyTermWide(e.term);
    else prettyTerm(e.term);
  } else if (e.t === "with" && e.body.t === "term" && isAbsorbable(e.body.term)) {
    prettyWith(true, e);
  } else prettyExpr(e);
}

/** Is `absorbExpr wide e` one regular group (see {@link isGroupExpr})? */
function isGroupAbsorbed(e: Expr): boolean {
  // `pretty` (not `prettyTermP`) of a term: a list is not grouped there.
  if (e.t === "term" && isAbsorbable(e.term)) return e.term.t === "istring" || e.term.t === "paren";
  if (e.t === "with" && e.body.t === "term" && isAbsorbable(e.body.term)) return true;
  return isGroupExpr(e);
}

/** `group (absorbExpr wide e)`. */
function groupAbsorbed(wide: boolean, e: Expr): void {
  if (isGroupAbsorbed(e)) {
    absorbExpr(wide, e);
    return;
  }
  open();
  absorbExpr(wide, e);
  close();
}

/** `hardspace <> group (absorbExpr wide e)`, nested. */
function spacedAbsorbed(wide: boolean, e: Expr): void {
  nestIn();
  sp(Sp.Hardspace);
  groupAbsorbed(wide, e);
  nestOut();
}

function absorbRHS(e: Expr): void {
  if (e.t === "term" && e.term.t === "set" && isSingleInherit(e.term.bindings)) {
    spacedAbsorbed(false, e);
    return;
  }
  if (isAbsorbableExpr(e)) {
    spacedAbsorbed(true, e);
    return;
  }
  if (e.t === "term") {
    const t = e.term;
    nestIn();
    if (t.t === "paren") {
      sp(Sp.Hardspace);
      absorbParen(t.expr);
    } else if (t.t === "sstring" || t.t === "istring" || t.t === "path") {
      sp(Sp.Hardspace);
      groupExpr(e);
    } else {
      open();
      sp(Sp.Space);
      prettyExpr(e);
      close();
    }
    nestOut();
    return;
  }
  if (e.t === "app") {
    nestIn();
    prettyApp(false, Sp.Space, false, e.f, e.a);
    nestOut();
    return;
  }
  if (e.t === "with") {
    nestIn();
    open();
    sp(Sp.Space);
    prettyExpr(e);
    close();
    nestOut();
    return;
  }
  if (e.t === "op" && isUpdateConcatPlus(e.op)) {
    if (e.a.t === "term" && isAbsorbable(e.a.term)) {
      sp(Sp.Hardspace);
      prettyOp(true, e, e.op);
      return;
    }
    if (e.b.t === "term" && isAbsorbable(e.b.term)) {
      nestIn();
      open();
      sp(Sp.Space);
      prettyExpr(e.a);
      sp(Sp.Space);
      open(Transparent);
      text(e.op);
      sp(Sp.Hardspace);
      open(Priority);
      prettyTermWide(e.b.term);
      close();
      close();
      close();
      nestOut();
      return;
    }
  }
  nestIn();
  sp(Sp.Space);
  groupExpr(e);
  nestOut();
}

// ---------------------------------------------------------------------------------------------
// Application and operators

/** A call's inner argument: a short list of simple items may stay on one line. */
function absorbInner(e: Expr): void {
  if (e.t === "term" && e.term.t === "list") {
    const items = e.term.items;
    if (items.length <= 6) {
      const terms = items.map(lowerTerm);
      if (terms.every(isSimpleTerm)) {
        renderList(Sp.Space, terms, listItem);
        return;
      }
    }
  }
  prettyExpr(e);
}

const isList = (e: Expr): boolean => e.t === "term" && e.term.t === "list";

function groupInner(e: Expr, kind: GroupKind = Regular): void {
  open(kind);
  absorbInner(e);
  close();
}

/** The function and every argument but the last, walking the call chain. */
function absorbApp(e: Expr, indentFunction: boolean): void {
  if (e.t === "app") {
    if (e.a.t === "term" && e.a.term.t === "select") {
      open(Transparent);
      absorbApp(e.f, indentFunction);
      close();
      sp(Sp.Space);
      nestIn();
      groupInner(e.a);
      nestOut();
      return;
    }
    if (e.f.t === "app" && isList(e.f.a) && isList(e.a)) {
      open(Transparent);
      open(Transparent);
      absorbApp(e.f.f, indentFunction);
      close();
      nestIn();
      open();
      sp(Sp.Space);
      groupInner(e.f.a);
      sp(Sp.Space);
      groupInner(e.a);
      close();
      nestOut();
      close();
      return;
    }
    open(Transparent);
    absorbApp(e.f, indentFunction);
    close();
    sp(Sp.Space);
    nestIn();
    groupInner(e.a, Priority);
    nestOut();
    return;
  }
  if (indentFunction) {
    nestIn();
    open();
    sp(Sp.Break);
    prettyExpr(e);
    close();
    nestOut();
  } else prettyExpr(e);
}

/** `(head body)` as a call's last argument, `body` absorbed (`(x: { … })`, `(f [ … ])`). */
function parenAbsorbed(head: string, colon: boolean, body: Term): void {
  open(Priority);
  nestIn();
  text("(");
  text(head);
  if (colon) text(":");
  sp(Sp.Hardspace);
  prettyTermWide(body);
  text(")");
  nestOut();
  close();
}

/** A call's last argument: absorbable terms and some parenthesized forms expand first. */
function absorbLast(e: Expr): void {
  if (e.t === "term") {
    const t = e.term;
    if (isAbsorbable(t)) {
      open(Priority);
      nestIn();
      prettyTerm(t);
      nestOut();
      close();
      return;
    }
    if (t.t === "paren") {
      const inner = t.expr;
      if (
        inner.t === "lambda" &&
        inner.param.t === "id" &&
        inner.body.t === "term" &&
        isAbsorbable(inner.body.term)
      ) {
        parenAbsorbed(inner.param.name, true, inner.body.term);
        return;
      }
      if (
        inner.t === "app" &&
        inner.f.t === "term" &&
        inner.f.term.t === "token" &&
        !inner.f.term.num &&
        inner.a.t === "term" &&
        isAbsorbable(inner.a.term)
      ) {
        parenAbsorbed(inner.f.term.text, false, inner.a.term);
        return;
      }
      absorbParen(inner);
      return;
    }
  }
  open();
  nestIn();
  prettyExpr(e);
  nestOut();
  close();
}

/** `pre <> group' Transparent (absorbApp f)`: the call up to its last argument. */
function renderedF(pre: number, f: Expr, indentFunction: boolean): void {
  spOpt(pre);
  open(Transparent);
  absorbApp(f, indentFunction);
  close();
}

function prettyApp(indentFunction: boolean, pre: number, hasPost: boolean, f: Expr, a: Expr): void {
  const post = hasPost ? Sp.Break : NONE;
  open();
  if (f.t === "app" && isList(f.a) && isList(a)) {
    renderedF(pre, f.f, indentFunction);
    sp(Sp.Space);
    nestIn();
    groupInner(f.a);
    nestOut();
    sp(Sp.Space);
    nestIn();
    groupInner(a);
    nestOut();
    spOpt(post);
    close();
    return;
  }
  if (isSimpleApp(f, a)) {
    const mark = captureBegin();
    renderedF(pre, f, indentFunction);
    const compact = captureCompact(mark);
    captureEnd();
    if (compact) {
      sp(Sp.Hardspace);
      absorbLast(a);
      close();
      return;
    }
  } else renderedF(pre, f, indentFunction);
  sp(Sp.Space);
  absorbLast(a);
  spOpt(post);
  close();
}

/** The operands of a chain of `op`, each with the operator before it (none for the first). */
function flattenOperands(
  op: string,
  opL: string | null,
  x: Expr,
  out: [string | null, Expr][],
): void {
  if (x.t === "op" && x.op === op) {
    flattenOperands(op, opL, x.a, out);
    flattenOperands(op, op, x.b, out);
  } else out.push([opL, x]);
}

function absorbOperation(x: Expr): void {
  if (x.t === "term" && isAbsorbable(x.term)) {
    sp(Sp.Hardspace);
    prettyTermP(x.term);
  } else if (x.t === "op") {
    open();
    sp(Sp.Space);
    prettyExpr(x);
    close();
  } else if (x.t === "app") {
    open();
    sp(Sp.Hardspace);
    prettyApp(false, Sp.Space, false, x.f, x.a);
    close();
  } else {
    sp(Sp.Hardspace);
    prettyExpr(x);
  }
}

function prettyOp(forceFirstTermWide: boolean, e: Expr, op: string): void {
  const operands: [string | null, Expr][] = [];
  flattenOperands(op, null, e, operands);
  open();
  for (const [o, x] of operands) {
    if (o === null) {
      if (forceFirstTermWide && x.t === "term" && isAbsorbable(x.term)) prettyTermWide(x.term);
      else prettyExpr(x);
    } else {
      sp(Sp.Space);
      text(o);
      nestIn();
      absorbOperation(x);
      nestOut();
    }
  }
  close();
}

function withHead(e: Extract<Expr, { t: "with" }>): void {
  text("with");
  sp(Sp.Hardspace);
  nestIn();
  groupExpr(e.scope);
  nestOut();
  text(";");
}

function prettyWith(absorb: boolean, e: Extract<Expr, { t: "with" }>): void {
  if (absorb && e.body.t === "term") {
    open();
    sp(Sp.Break);
    withHead(e);
    sp(Sp.Hardspace);
    open(Priority);
    prettyTermWide(e.body.term);
    close();
    close();
    return;
  }
  open();
  withHead(e);
  close();
  sp(Sp.Space);
  prettyExpr(e.body);
}

// ---------------------------------------------------------------------------------------------
// Parameters

function prettyParam(p: Param): void {
  switch (p.t) {
    case "id":
      text(p.name);
      return;
    case "ctx":
      prettyParam(p.first);
      text("@");
      prettyParam(p.second);
      return;
    case "set": {
      open();
      text("{");
      if (p.attrs.length === 0 && !p.ellipsis) {
        sp(Sp.Hardspace);
        text("}");
        close();
        return;
      }
      const sep = canFlattenAttrs(p.attrs) ? Sp.Space : Sp.Hardline;
      sp(sep);
      nestIn();
      for (let i = 0; i < p.attrs.length; i++) {
        if (i > 0) sp(sep);
        const a = p.attrs[i]!;
        const last = i === p.attrs.length - 1 && !p.ellipsis;
        const def = a.def;
        if (def === undefined) {
          text(a.name);
          textOf(last ? TRAILING : REGULAR, ",");
          continue;
        }
        // The last formal's trailing comma is outside its group (nixfmt renders it
        // `pretty (ParamAttr name def Nothing) <> trailing ","`): it shows whenever the
        // pattern is expanded, even when `name ? default` itself fits on one line.
        open();
        text(a.name);
        sp(Sp.Hardspace);
        nestIn();
        text("?");
        absorbRHS(def);
        nestOut();
        if (!last) text(",");
        close();
        if (last) textOf(TRAILING, ",");
      }
      if (p.ellipsis) {
        if (p.attrs.length > 0) sp(sep);
        text("...");
      }
      nestOut();
      sp(sep);
      text("}");
      close();
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

function prettyIf(sep: Sp, e: Expr): void {
  if (e.t !== "if") {
    sp(Sp.Space);
    nestIn();
    groupExpr(e);
    nestOut();
    return;
  }
  open();
  text("if");
  sp(Sp.Space);
  nestIn();
  prettyExpr(e.cond);
  nestOut();
  sp(Sp.Space);
  text("then");
  close();
  sp(sep);
  nestIn();
  groupExpr(e.then);
  nestOut();
  sp(sep);
  text("else");
  sp(Sp.Hardspace);
  prettyIf(Sp.Hardline, e.else);
}

function absorbAbs(depth: number, body: Expr): void {
  if (body.t === "lambda" && body.param.t === "id") {
    sp(Sp.Hardspace);
    text(body.param.name);
    text(":");
    absorbAbs(depth + 1, body.body);
    return;
  }
  if (isAbsorbableExpr(body)) {
    sp(Sp.Hardspace);
    open(Priority);
    absorbExpr(false, body);
    close();
    return;
  }
  sp(depth <= 2 ? Sp.Space : Sp.Hardline);
  prettyExpr(body);
}

const ASSERT: Expr = { t: "term", term: { t: "token", text: "assert", num: false } };

/** Insert `assert` as the innermost function of an application chain (nixfmt renders it so). */
function insertIntoApp(insert: Expr, e: Expr): [Expr, Expr] {
  if (e.t === "app") {
    const [f, a] = insertIntoApp(insert, e.f);
    return [{ t: "app", f, a }, e.a];
  }
  return [insert, e];
}

function prettyExpr(e: Expr): void {
  switch (e.t) {
    case "term":
      prettyTermP(e.term);
      return;
    case "with":
      prettyWith(false, e);
      return;
    case "let":
      open();
      text("let");
      sp(Sp.Hardline);
      nestIn();
      renderBinders(e.bindings, true);
      nestOut();
      close();
      sp(Sp.Hardline);
      open();
      text("in");
      sp(Sp.Hardline);
      prettyExpr(lower(e.body));
      close();
      return;
    case "assert": {
      const [f, a] = insertIntoApp(ASSERT, e.cond);
      open();
      prettyApp(false, NONE, false, f, a);
      text(";");
      sp(Sp.Hardline);
      prettyExpr(e.body);
      close();
      return;
    }
    case "if":
      open();
      prettyIf(Sp.Space, e);
      close();
      return;
    case "lambda": {
      const p = e.param;
      if (p.t === "id") {
        open();
        sp(Sp.Break);
        text(p.name);
        text(":");
        absorbAbs(1, e.body);
        close();
        return;
      }
      prettyParam(p);
      text(":");
      if (p.t === "set" && canFlattenAttrs(p.attrs) && isAbsorbableExpr(e.body)) {
        sp(Sp.Hardspace);
        groupExpr(e.body, Priority);
      } else if (e.body.t === "term" && isAbsorbable(e.body.term)) {
        sp(Sp.Space);
        open();
        prettyTermWide(e.body.term);
        close();
      } else {
        sp(Sp.Space);
        prettyExpr(e.body);
      }
      return;
    }
    case "app":
      prettyApp(false, NONE, false, e.f, e.a);
      return;
    case "op":
      if (isComparison(e.op)) {
        prettyExpr(e.a);
        sp(Sp.Softspace);
        text(e.op);
        sp(Sp.Hardspace);
        prettyExpr(e.b);
      } else prettyOp(false, e, e.op);
      return;
    case "has":
      prettyExpr(e.expr);
      sp(Sp.Softspace);
      text("?");
      sp(Sp.Hardspace);
      prettySels(e.sels);
      return;
    case "neg":
      text("-");
      prettyExpr(e.expr);
      return;
    case "not":
      text("!");
      prettyExpr(e.expr);
      return;
  }
}

/** The whole-file document (nixfmt's `Whole`). */
export function prettyWhole(e: Expr): Tokens {
  beginDocument();
  groupExpr(e);
  return endDocument();
}
