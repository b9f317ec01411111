/**
 * Layout rules of RFC 166 as implemented by nixfmt 1.x in `--strict` mode (no source positions
 * to preserve), expressed over the concrete syntax of `syntax.ts`. Each function mirrors one
 * rule of nixfmt's `Pretty.hs`, so the printed text is a fixed point of the official formatter.
 */
import {
  type Doc,
  GroupKind,
  cat,
  catAll,
  comment,
  empty,
  group,
  hardline,
  hardspace,
  join,
  line,
  line_,
  nest,
  newline,
  offset,
  softline,
  softline_,
  surround,
  text,
  trailing,
  unexpandSpacingDeep,
} from "./layout.ts";
import type { Binder, Expr, Item, Line, Param, ParamAttr, Part, Sel, Term } from "./syntax.ts";

const { Priority, Transparent, Regular } = GroupKind;

// ---------------------------------------------------------------------------------------------
// Classification

function isAbsorbable(t: Term): boolean {
  switch (t.t) {
    case "istring":
      return t.lines.length >= 2;
    case "set":
      return t.items.length > 0;
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

function isSimple(e: Expr): boolean {
  if (e.t === "term") {
    const t = e.term;
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
        return (
          isSimple({ t: "term", term: t.term }) &&
          t.sels.every((s) => s.t === "id") &&
          t.or === undefined
        );
      case "paren":
        return isSimple(t.expr);
      default:
        return false;
    }
  }
  if (e.t === "app") {
    if (e.f.t === "app" && e.f.f.t === "app") return false;
    return isSimple(e.f) && isSimple(e.a);
  }
  return false;
}

const isUpdateConcatPlus = (op: string): boolean => op === "//" || op === "++" || op === "+";
const isComparison = (op: string): boolean => ["<", ">", "<=", ">=", "==", "!="].includes(op);

// ---------------------------------------------------------------------------------------------
// Items, sets, lists

function renderItems<T>(sep: Doc, items: readonly Item<T>[], pretty: (x: T) => Doc): Doc {
  return join(
    sep,
    items.map((item) =>
      item.t === "comments"
        ? cat(hardline, ...item.lines.map((l) => cat(comment(l === "" ? "#" : `# ${l}`), hardline)))
        : group(pretty(item.value)),
    ),
  );
}

/**
 * `[ … ]`: an empty list stays `[ ]` and a list of only comments is always expanded, whatever
 * the separator (nixfmt's `renderList`; an empty call argument goes through here too).
 */
function renderList(itemSep: Doc, items: readonly Item<Term>[]): Doc {
  const sep =
    items.length === 0 ? hardspace : items.every((i) => i.t === "comments") ? hardline : line;
  return cat(text("["), surround(sep, nest(renderItems(itemSep, items, prettyTermP))), text("]"));
}

function prettySet(wide: boolean, t: Extract<Term, { t: "set" }>): Doc {
  const rec = t.rec ? cat(text("rec"), hardspace) : empty;
  if (t.items.length === 0) return cat(rec, text("{"), hardspace, text("}"));
  const sep = wide ? hardline : line;
  return cat(
    rec,
    text("{"),
    surround(sep, nest(renderItems(hardline, t.items, prettyBinder))),
    text("}"),
  );
}

function prettyTermWide(t: Term): Doc {
  return t.t === "set" ? prettySet(true, t) : prettyTerm(t);
}

/** `pretty` of a term: lists are grouped on their own. */
function prettyTermP(t: Term): Doc {
  return t.t === "list" ? group(prettyTerm(t)) : prettyTerm(t);
}

function prettyTerm(t: Term): Doc {
  switch (t.t) {
    case "token":
      return text(t.text);
    case "path":
      return text(t.text);
    case "sstring":
      return prettySimpleString(t.line);
    case "istring":
      return prettyIndentedString(t.lines);
    case "list":
      if (t.items.length === 0) return cat(text("["), hardspace, text("]"));
      return renderList(hardline, t.items);
    case "set":
      return prettySet(false, t);
    case "select": {
      const base = t.term;
      const sep =
        base.t === "token"
          ? base.num
            ? hardspace
            : empty
          : base.t === "paren"
            ? softline_
            : line_;
      const or =
        t.or === undefined
          ? empty
          : cat(softline, nest(cat(text("or"), hardspace, prettyTermP(t.or))));
      // `pretty` of the base, as nixfmt has it: a list base is a group of its own, so a list
      // that fits does not set the indentation of the selectors on the next line.
      return cat(prettyTermP(base), sep, ...t.sels.map((s) => cat(text("."), prettySel(s))), or);
    }
    case "paren":
      return group(cat(text("("), nest(parenInner(t.expr)), text(")")));
  }
}

function parenInner(e: Expr): Doc {
  if (isAbsorbableExpr(e)) return group(absorbExpr(false, e));
  if (e.t === "app") return prettyApp(true, empty, true, e.f, e.a);
  if (e.t === "term" && e.term.t === "select") {
    const body = cat(group(prettyExpr(e)), line_);
    return isAbsorbable(e.term.term) ? cat(line_, body) : body;
  }
  return cat(line_, group(prettyExpr(e)), line_);
}

function prettySel(s: Sel): Doc {
  switch (s.t) {
    case "id":
      return text(s.name);
    case "str":
      return prettySimpleString(s.line);
    case "interp":
      return prettyInterpolation(s.expr);
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

function prettyInterpolation(e: Expr): Doc {
  if (e.t === "term" && isAbsorbable(e.term)) {
    return group(cat(text("${"), prettyTerm(e.term), text("}")));
  }
  if (isSimple(e)) {
    const d = prettyExpr(e);
    return cat(text("${"), unexpandSpacingDeep(d) ?? d, text("}"));
  }
  const whole = group(prettyExpr(e));
  const inner = unexpandSpacingDeep(whole, 30) ?? surround(line_, nest(whole));
  return group(cat(text("${"), inner, text("}")));
}

function prettyPart(p: Part): Doc {
  return p.t === "text" ? text(p.text) : prettyInterpolation(p.expr);
}

/**
 * Leading white space as Haskell's `isSpace` sees it (what nixfmt's `Text.takeWhile isSpace`
 * measures): tab to carriage return and the space separators (category Zs). Unlike JavaScript's
 * `\s`, it excludes U+2028, U+2029 and U+FEFF, so text starting with those gets no offset.
 */
const HASKELL_SPACES = /^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*/;

function prettyLine(parts: Line): Doc {
  const [first, second] = parts;
  if (parts.length === 1 && first!.t === "interp")
    return prettyLine([{ t: "text", text: "" }, first!]);
  if (
    parts.length === 2 &&
    first!.t === "text" &&
    second!.t === "interp" &&
    /^ *$/.test(first!.text)
  ) {
    const pre = first!.text;
    return cat(
      text(pre),
      offset(pre.length, group(cat(text("${"), nest(parenInner(second!.expr)), text("}")))),
    );
  }
  if (first !== undefined && first.t === "text") {
    const indentation = HASKELL_SPACES.exec(first.text)![0].length;
    return cat(text(first.text), offset(indentation, catAll(parts.slice(1).map(prettyPart))));
  }
  return catAll(parts.map(prettyPart));
}

function prettySimpleString(l: Line): Doc {
  return group(cat(text('"'), prettyLine(l), text('"')));
}

function prettyIndentedString(lines: readonly Line[]): Doc {
  return group(
    cat(
      text("''"),
      lines.length >= 2 ? line_ : empty,
      nest(join(newline, lines.map(prettyLine))),
      text("''"),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Bindings

function prettyBinder(b: Binder): Doc {
  if (b.t === "inherit") {
    const few = b.names.length < 4;
    const sep = few ? line : hardline;
    const nosep = few ? line_ : hardline;
    const names = join(sep, b.names.map(prettySel));
    if (b.from === undefined) {
      return group(cat(text("inherit"), sep, nest(cat(names, nosep, text(";")))));
    }
    return group(
      cat(
        text("inherit"),
        nest(cat(group(cat(line, prettyTermP(b.from))), sep, names, nosep, text(";"))),
      ),
    );
  }
  const simpleLhs = b.sels.length <= 4 && b.sels.every((s) => s.t === "id");
  const rhs = simpleLhs ? absorbRHS(b.expr) : cat(line_, group(absorbRHS(b.expr), Priority));
  const lhs = b.sels.map((s, i) => (i === 0 ? prettySel(s) : cat(text("."), prettySel(s))));
  return group(cat(...lhs, nest(cat(hardspace, text("="), rhs)), text(";")));
}

function absorbParen(e: Expr): Doc {
  return group(
    nest(cat(text("("), surround(line_, group(nest(prettyExpr(e)))), text(")"))),
    Priority,
  );
}

function absorbExpr(wide: boolean, e: Expr): Doc {
  if (e.t === "term" && isAbsorbable(e.term))
    return wide ? prettyTermWide(e.term) : prettyTerm(e.term);
  if (e.t === "with" && e.body.t === "term" && isAbsorbable(e.body.term))
    return prettyWith(true, e);
  return prettyExpr(e);
}

function absorbRHS(e: Expr): Doc {
  if (e.t === "term" && e.term.t === "set") {
    const [only] = e.term.items;
    if (e.term.items.length === 1 && only!.t === "item" && only!.value.t === "inherit") {
      return nest(cat(hardspace, group(absorbExpr(false, e))));
    }
  }
  if (isAbsorbableExpr(e)) return nest(cat(hardspace, group(absorbExpr(true, e))));
  if (e.t === "term") {
    const t = e.term;
    if (t.t === "paren") return nest(cat(hardspace, absorbParen(t.expr)));
    if (t.t === "sstring" || t.t === "istring" || t.t === "path") {
      return nest(cat(hardspace, group(prettyExpr(e))));
    }
    return nest(group(cat(line, prettyExpr(e))));
  }
  if (e.t === "app") return nest(prettyApp(false, line, false, e.f, e.a));
  if (e.t === "with") return nest(group(cat(line, prettyExpr(e))));
  if (e.t === "op" && isUpdateConcatPlus(e.op)) {
    if (e.a.t === "term" && isAbsorbable(e.a.term)) return cat(hardspace, prettyOp(true, e, e.op));
    if (e.b.t === "term" && isAbsorbable(e.b.term)) {
      const tail = group(
        cat(text(e.op), hardspace, group(prettyTermWide(e.b.term), Priority)),
        Transparent,
      );
      return nest(group(cat(line, prettyExpr(e.a), line, tail)));
    }
  }
  return nest(cat(line, group(prettyExpr(e))));
}

// ---------------------------------------------------------------------------------------------
// Application and operators

// The helpers of prettyApp are module functions, not closures: under tsx each named closure
// costs a `__name` call whenever it is created, once per call printed.

/** A call's inner argument: a short list of simple items may stay on one line. */
function absorbInner(e: Expr): Doc {
  if (e.t === "term" && e.term.t === "list") {
    const items = e.term.items;
    if (
      items.length <= 6 &&
      items.every((i) => i.t === "item" && isSimple({ t: "term", term: i.value }))
    ) {
      return renderList(line, items);
    }
  }
  return prettyExpr(e);
}

const isList = (e: Expr): boolean => e.t === "term" && e.term.t === "list";

/** The function and every argument but the last, walking the call chain. */
function absorbApp(e: Expr, indentFunction: boolean): Doc {
  if (e.t === "app") {
    if (e.a.t === "term" && e.a.term.t === "select") {
      return cat(
        group(absorbApp(e.f, indentFunction), Transparent),
        line,
        nest(group(absorbInner(e.a), Regular)),
      );
    }
    if (e.f.t === "app" && isList(e.f.a) && isList(e.a)) {
      return group(
        cat(
          group(absorbApp(e.f.f, indentFunction), Transparent),
          nest(group(cat(line, group(absorbInner(e.f.a)), line, group(absorbInner(e.a))))),
        ),
        Transparent,
      );
    }
    return cat(
      group(absorbApp(e.f, indentFunction), Transparent),
      line,
      nest(group(absorbInner(e.a), Priority)),
    );
  }
  return indentFunction ? nest(group(cat(line_, prettyExpr(e)))) : prettyExpr(e);
}

/** `(head body)` as a call's last argument, `body` absorbed (`(x: { … })`, `(f [ … ])`). */
function parenAbsorbed(head: Doc, body: Term): Doc {
  return group(nest(cat(text("("), head, hardspace, prettyTermWide(body), text(")"))), Priority);
}

/** A call's last argument: absorbable terms and some parenthesized forms expand first. */
function absorbLast(e: Expr): Doc {
  if (e.t === "term") {
    const t = e.term;
    if (isAbsorbable(t)) return group(nest(prettyTerm(t)), Priority);
    if (t.t === "paren") {
      const inner = t.expr;
      if (
        inner.t === "lambda" &&
        inner.param.t === "id" &&
        inner.body.t === "term" &&
        isAbsorbable(inner.body.term)
      ) {
        return parenAbsorbed(cat(text(inner.param.name), text(":")), inner.body.term);
      }
      if (
        inner.t === "app" &&
        inner.f.t === "term" &&
        inner.f.term.t === "token" &&
        !inner.f.term.num &&
        inner.a.t === "term" &&
        isAbsorbable(inner.a.term)
      ) {
        return parenAbsorbed(text(inner.f.term.text), inner.a.term);
      }
      return absorbParen(inner);
    }
  }
  return group(nest(prettyExpr(e)), Regular);
}

function prettyApp(indentFunction: boolean, pre: Doc, hasPost: boolean, f: Expr, a: Expr): Doc {
  const post = hasPost ? line_ : empty;
  if (f.t === "app" && isList(f.a) && isList(a)) {
    return group(
      cat(
        pre,
        group(absorbApp(f.f, indentFunction), Transparent),
        line,
        nest(group(absorbInner(f.a))),
        line,
        nest(group(absorbInner(a))),
        post,
      ),
    );
  }
  const renderedF = cat(pre, group(absorbApp(f, indentFunction), Transparent));
  if (isSimple({ t: "app", f, a })) {
    const compact = unexpandSpacingDeep(renderedF);
    if (compact !== undefined) return group(cat(compact, hardspace, absorbLast(a)));
  }
  return group(cat(renderedF, line, absorbLast(a), post));
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

function absorbOperation(x: Expr): Doc {
  if (x.t === "term" && isAbsorbable(x.term)) return cat(hardspace, prettyTermP(x.term));
  if (x.t === "op") return group(cat(line, prettyExpr(x)));
  if (x.t === "app") return group(cat(hardspace, prettyApp(false, line, false, x.f, x.a)));
  return cat(hardspace, prettyExpr(x));
}

function prettyOp(forceFirstTermWide: boolean, e: Expr, op: string): Doc {
  const operands: [string | null, Expr][] = [];
  flattenOperands(op, null, e, operands);
  return group(
    catAll(
      operands.map(([o, x]) => {
        if (o === null) {
          return forceFirstTermWide && x.t === "term" && isAbsorbable(x.term)
            ? prettyTermWide(x.term)
            : prettyExpr(x);
        }
        return cat(line, text(o), nest(absorbOperation(x)));
      }),
    ),
  );
}

function prettyWith(absorb: boolean, e: Extract<Expr, { t: "with" }>): Doc {
  const head = cat(text("with"), hardspace, nest(group(prettyExpr(e.scope))), text(";"));
  if (absorb && e.body.t === "term") {
    return group(cat(line_, head, hardspace, group(prettyTermWide(e.body.term), Priority)));
  }
  return cat(group(head), line, prettyExpr(e.body));
}

// ---------------------------------------------------------------------------------------------
// Parameters

function prettyParam(p: Param): Doc {
  switch (p.t) {
    case "id":
      return text(p.name);
    case "ctx":
      return cat(prettyParam(p.first), text("@"), prettyParam(p.second));
    case "set": {
      if (p.attrs.length === 0 && !p.ellipsis) return group(cat(text("{"), hardspace, text("}")));
      const docs = p.attrs.map((a, i) => {
        const last = i === p.attrs.length - 1 && !p.ellipsis;
        const comma = last ? trailing(",") : text(",");
        const def = a.def;
        if (def === undefined) return cat(text(a.name), comma);
        // The last formal's trailing comma is outside its group (nixfmt renders it
        // `pretty (ParamAttr name def Nothing) <> trailing ","`): it shows whenever the
        // pattern is expanded, even when `name ? default` itself fits on one line.
        const attr = (c: Doc): Doc =>
          group(cat(text(a.name), hardspace, nest(cat(text("?"), absorbRHS(def))), c));
        return last ? cat(attr(empty), comma) : attr(comma);
      });
      if (p.ellipsis) docs.push(text("..."));
      const sep = canFlattenAttrs(p.attrs) ? line : hardline;
      return group(cat(text("{"), surround(sep, nest(join(sep, docs))), text("}")));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions

function prettyIf(sep: Doc, e: Expr): Doc {
  if (e.t !== "if") return cat(line, nest(group(prettyExpr(e))));
  return cat(
    group(cat(text("if"), line, nest(prettyExpr(e.cond)), line, text("then"))),
    surround(sep, nest(group(prettyExpr(e.then)))),
    text("else"),
    hardspace,
    prettyIf(hardline, e.else),
  );
}

function absorbAbs(depth: number, body: Expr): Doc {
  if (body.t === "lambda" && body.param.t === "id") {
    return cat(hardspace, text(body.param.name), text(":"), absorbAbs(depth + 1, body.body));
  }
  if (isAbsorbableExpr(body)) return cat(hardspace, group(absorbExpr(false, body), Priority));
  return cat(depth <= 2 ? line : hardline, prettyExpr(body));
}

/** Insert `assert` as the innermost function of an application chain (nixfmt renders it so). */
function insertIntoApp(insert: Expr, e: Expr): [Expr, Expr] {
  if (e.t === "app") {
    const [f, a] = insertIntoApp(insert, e.f);
    return [{ t: "app", f, a }, e.a];
  }
  return [insert, e];
}

export function prettyExpr(e: Expr): Doc {
  switch (e.t) {
    case "term":
      return prettyTermP(e.term);
    case "with":
      return prettyWith(false, e);
    case "let": {
      const letPart = group(
        cat(text("let"), hardline, nest(renderItems(hardline, e.items, prettyBinder))),
      );
      const inPart = group(cat(text("in"), hardline, prettyExpr(e.body)));
      return cat(letPart, hardline, inPart);
    }
    case "assert": {
      const [f, a] = insertIntoApp(
        { t: "term", term: { t: "token", text: "assert", num: false } },
        e.cond,
      );
      return group(
        cat(prettyApp(false, empty, false, f, a), text(";"), hardline, prettyExpr(e.body)),
      );
    }
    case "if":
      return group(prettyIf(line, e));
    case "lambda": {
      const p = e.param;
      if (p.t === "id") return group(cat(line_, text(p.name), text(":"), absorbAbs(1, e.body)));
      if (p.t === "set" && canFlattenAttrs(p.attrs) && isAbsorbableExpr(e.body)) {
        return cat(prettyParam(p), text(":"), hardspace, group(prettyExpr(e.body), Priority));
      }
      if (e.body.t === "term" && isAbsorbable(e.body.term)) {
        return cat(prettyParam(p), text(":"), line, group(prettyTermWide(e.body.term)));
      }
      return cat(prettyParam(p), text(":"), line, prettyExpr(e.body));
    }
    case "app":
      return prettyApp(false, empty, false, e.f, e.a);
    case "op":
      if (isComparison(e.op)) {
        return cat(prettyExpr(e.a), softline, text(e.op), hardspace, prettyExpr(e.b));
      }
      return prettyOp(false, e, e.op);
    case "has":
      return cat(
        prettyExpr(e.expr),
        softline,
        text("?"),
        hardspace,
        ...e.sels.map((s, i) => (i === 0 ? prettySel(s) : cat(text("."), prettySel(s)))),
      );
    case "neg":
      return cat(text("-"), prettyExpr(e.expr));
    case "not":
      return cat(text("!"), prettyExpr(e.expr));
  }
}

/** The whole-file document (nixfmt's `Whole`). */
export function prettyWhole(e: Expr): Doc {
  return group(prettyExpr(e));
}
