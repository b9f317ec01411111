/**
 * Lowering from the AST to a concrete syntax tree shaped like nixfmt's (terms vs expressions,
 * explicit parentheses, escaped string text). Everything about precedence, associativity and
 * escaping is decided here; `format.ts` only decides layout.
 */
import type { NixAttrKey, NixBinding, NixExpr, NixParam } from "./ast.ts";
import { NixDslError } from "./errors.ts";
import {
  INT64_MIN_VALUE,
  checkIdentifier,
  checkInt,
  checkText,
  escapeDoubleQuoted,
  escapeIndentedLine,
  formatFloat,
  isIdentifier,
  pathLiteral,
} from "./lexical.ts";

/** A piece of one string line: escaped source text, or an interpolation. */
export type Part =
  { readonly t: "text"; readonly text: string } | { readonly t: "interp"; readonly expr: Expr };
export type Line = readonly Part[];

/** An attribute-path segment as written: `name`, `"quoted"`, or `${expr}`. */
export type Sel =
  | { readonly t: "id"; readonly name: string }
  | { readonly t: "str"; readonly line: Line }
  | { readonly t: "interp"; readonly expr: Expr };

export type Term =
  | { readonly t: "token"; readonly text: string; readonly num: boolean }
  | { readonly t: "sstring"; readonly line: Line }
  | { readonly t: "istring"; readonly lines: readonly Line[] }
  | { readonly t: "path"; readonly text: string }
  | { readonly t: "list"; readonly items: readonly Item<Term>[] }
  | { readonly t: "set"; readonly rec: boolean; readonly items: readonly Item<Binder>[] }
  | { readonly t: "select"; readonly term: Term; readonly sels: readonly Sel[]; readonly or?: Term }
  | { readonly t: "paren"; readonly expr: Expr };

export type Item<T> =
  | { readonly t: "comments"; readonly lines: readonly string[] }
  | { readonly t: "item"; readonly value: T };

export type Binder =
  | { readonly t: "assign"; readonly sels: readonly Sel[]; readonly expr: Expr }
  | { readonly t: "inherit"; readonly from?: Term; readonly names: readonly Sel[] };

export interface ParamAttr {
  readonly name: string;
  readonly def?: Expr;
}
export type Param =
  | { readonly t: "id"; readonly name: string }
  | { readonly t: "set"; readonly attrs: readonly ParamAttr[]; readonly ellipsis: boolean }
  | { readonly t: "ctx"; readonly first: Param; readonly second: Param };

export type Expr =
  | { readonly t: "term"; readonly term: Term }
  | { readonly t: "with"; readonly scope: Expr; readonly body: Expr }
  | { readonly t: "let"; readonly items: readonly Item<Binder>[]; readonly body: Expr }
  | { readonly t: "assert"; readonly cond: Expr; readonly body: Expr }
  | { readonly t: "if"; readonly cond: Expr; readonly then: Expr; readonly else: Expr }
  | { readonly t: "lambda"; readonly param: Param; readonly body: Expr }
  | { readonly t: "app"; readonly f: Expr; readonly a: Expr }
  | { readonly t: "op"; readonly a: Expr; readonly op: string; readonly b: Expr }
  | { readonly t: "has"; readonly expr: Expr; readonly sels: readonly Sel[] }
  | { readonly t: "neg"; readonly expr: Expr }
  | { readonly t: "not"; readonly expr: Expr };

// Binding strength, tightest first (Nix manual, operators.md; nix parser.y).
const TERM = 0;
const SELECT = 1;
const APPLY = 2;
const NEGATE = 3;
const HAS = 4;
const LOWEST = 15;
const BINARY: Readonly<Record<string, [level: number, assoc: "left" | "right" | "none"]>> = {
  "++": [5, "right"],
  "*": [6, "left"],
  "/": [6, "left"],
  "+": [7, "left"],
  "-": [7, "left"],
  "//": [9, "right"],
  "<": [10, "none"],
  "<=": [10, "none"],
  ">": [10, "none"],
  ">=": [10, "none"],
  "==": [11, "none"],
  "!=": [11, "none"],
  "&&": [12, "left"],
  "||": [13, "left"],
  "->": [14, "right"],
};
const NOT = 8;
/** The smallest normal double; below it Nix cannot read a float literal. */
const MIN_NORMAL = 2.2250738585072014e-308;

interface Lowered {
  readonly expr: Expr;
  readonly level: number;
}

const term = (t: Term): Expr => ({ t: "term", term: t });
const token = (text: string, num = false): Expr => term({ t: "token", text, num });

/** A path literal in parentheses: a `.` or `-` next to it would be read as part of the path. */
function isolatePath(t: Term): Term {
  return t.t === "path" ? { t: "paren", expr: term(t) } : t;
}

function paren(l: Lowered): Term {
  return l.expr.t === "term" && l.level === TERM ? l.expr.term : { t: "paren", expr: l.expr };
}

/** The expression as a term (`(…)` unless it binds at least as tightly as `maxLevel`). */
function asTerm(l: Lowered, maxLevel: number = SELECT): Term {
  if (l.level <= maxLevel && l.expr.t === "term") return l.expr.term;
  return { t: "paren", expr: l.expr };
}

function wrap(l: Lowered, maxLevel: number): Expr {
  return l.level <= maxLevel ? l.expr : term({ t: "paren", expr: l.expr });
}

/** Lower a whole expression. */
export function lower(e: NixExpr): Expr {
  return lowerL(e).expr;
}

function lowerL(e: NixExpr): Lowered {
  switch (e.kind) {
    case "null":
      return { expr: token("null"), level: TERM };
    case "bool":
      return { expr: token(e.value ? "true" : "false"), level: TERM };
    case "int": {
      const v = checkInt(e.value);
      if (v >= 0n) return { expr: token(v.toString(), true), level: TERM };
      if (v === INT64_MIN_VALUE) {
        // No literal exists for the minimum: (-9223372036854775807 - 1).
        const max = { t: "neg", expr: token((-(v + 1n)).toString(), true) } as const;
        return { expr: { t: "op", a: max, op: "-", b: token("1", true) }, level: 7 };
      }
      return { expr: { t: "neg", expr: token((-v).toString(), true) }, level: NEGATE };
    }
    case "float": {
      const v = e.value;
      if (!Number.isFinite(v))
        throw new NixDslError(`${v} has no Nix literal (only finite floats do)`);
      const abs = Math.abs(v);
      if (abs !== 0 && abs < MIN_NORMAL) {
        // Nix reads float literals with strtod and rejects any that underflows ("invalid
        // float"): write a subnormal as an exact quotient (abs · 2^52) / 2^52 (both normal).
        const num = token(formatFloat(abs * 2 ** 52), true);
        const a: Expr = v < 0 ? { t: "neg", expr: num } : num;
        return { expr: { t: "op", a, op: "/", b: token(formatFloat(2 ** 52), true) }, level: 6 };
      }
      if (v < 0 || Object.is(v, -0)) {
        return { expr: { t: "neg", expr: token(formatFloat(-v), true) }, level: NEGATE };
      }
      return { expr: token(formatFloat(v), true), level: TERM };
    }
    case "string":
      return { expr: term(lowerString(e.parts)), level: TERM };
    case "path": {
      const lit = pathLiteral(e.value);
      if (lit !== undefined) return { expr: term({ t: "path", text: lit }), level: TERM };
      // Not expressible as a literal: build it from a base path and a string.
      const absolute = e.value.startsWith("/");
      const rest = absolute ? e.value : e.value.replace(/^\.\//, "");
      const base = term({ t: "path", text: absolute ? "/." : "./." });
      const suffix = term(lowerString([absolute ? rest : `/${rest}`]));
      return { expr: { t: "op", a: base, op: "+", b: suffix }, level: 7 };
    }
    case "var":
      return { expr: token(checkIdentifier(e.name, "variable")), level: TERM };
    case "raw":
      checkText(e.text);
      if (/[\r\n]/.test(e.text)) throw new NixDslError("raw Nix text must be a single line");
      return { expr: term({ t: "paren", expr: token(e.text) }), level: TERM };
    case "list":
      return {
        expr: term({
          t: "list",
          items: e.items.map((i) => ({ t: "item", value: asTerm(lowerL(i)) })),
        }),
        level: TERM,
      };
    case "attrs":
      return {
        expr: term({ t: "set", rec: e.rec, items: lowerBindings(e.bindings, false) }),
        level: TERM,
      };
    case "let":
      return {
        expr: { t: "let", items: lowerBindings(e.bindings, true), body: lower(e.body) },
        level: LOWEST,
      };
    case "with":
      return { expr: { t: "with", scope: lower(e.scope), body: lower(e.body) }, level: LOWEST };
    case "assert":
      return { expr: { t: "assert", cond: lower(e.cond), body: lower(e.body) }, level: LOWEST };
    case "if":
      return {
        expr: { t: "if", cond: lower(e.cond), then: lower(e.then), else: lower(e.else) },
        level: LOWEST,
      };
    case "lambda":
      return {
        expr: { t: "lambda", param: lowerParam(e.param), body: lower(e.body) },
        level: LOWEST,
      };
    case "apply": {
      if (e.args.length === 0) return lowerL(e.fn);
      let f = wrap(lowerL(e.fn), APPLY);
      for (const arg of e.args) f = { t: "app", f, a: term(asTerm(lowerL(arg))) };
      return { expr: f, level: APPLY };
    }
    case "select": {
      if (e.path.length === 0)
        throw new NixDslError("a selection needs at least one attribute name");
      let base = lowerL(e.base);
      let sels = e.path.map(lowerSel);
      // `(a.b).c` is `a.b.c`: merge plain selections. Not under an `or`: `(a.b).c or d`
      // fails when `b` is missing, `a.b.c or d` gives `d`.
      if (
        e.or === undefined &&
        base.expr.t === "term" &&
        base.expr.term.t === "select" &&
        base.expr.term.or === undefined
      ) {
        sels = [...base.expr.term.sels, ...sels];
        base = { expr: term(base.expr.term.term), level: TERM };
      }
      const or = e.or === undefined ? undefined : asTerm(lowerL(e.or));
      // `./a.b` would lex as the path `./a.b`: a path base needs parentheses.
      const t: Term = { t: "select", term: isolatePath(paren(base)), sels, ...(or ? { or } : {}) };
      return { expr: term(t), level: SELECT };
    }
    case "has":
      if (e.path.length === 0) throw new NixDslError("`?` needs at least one attribute name");
      return {
        expr: { t: "has", expr: wrap(lowerL(e.base), NEGATE), sels: e.path.map(lowerSel) },
        level: HAS,
      };
    case "unary": {
      const operand = lowerL(e.operand);
      // `-./a` (and `-/a`) would lex as one path: a path operand needs parentheses.
      if (e.op === "-")
        return { expr: { t: "neg", expr: term(isolatePath(asTerm(operand))) }, level: NEGATE };
      // `!` binds looser than arithmetic; parenthesise anything but terms, calls and `!` for clarity.
      const inner =
        operand.level <= NEGATE || operand.level === NOT
          ? operand.expr
          : term({ t: "paren", expr: operand.expr });
      return { expr: { t: "not", expr: inner }, level: NOT };
    }
    case "binary": {
      const spec = BINARY[e.op];
      if (spec === undefined) throw new NixDslError(`unknown operator ${e.op}`);
      const [level, assoc] = spec;
      const l = lowerL(e.left);
      const r = lowerL(e.right);
      const a = wrapOperand(l, level, assoc === "left");
      const b = wrapOperand(r, level, assoc === "right");
      return { expr: mkOp(a, e.op, b), level };
    }
  }
}

function wrapOperand(l: Lowered, level: number, sameLevelOk: boolean): Expr {
  // A `!` operand always gets parentheses: `a * !b` reads badly even where it parses.
  if (l.level === NOT && level < NOT) return term({ t: "paren", expr: l.expr });
  const ok = sameLevelOk ? l.level <= level : l.level < level;
  return ok ? l.expr : term({ t: "paren", expr: l.expr });
}

/** nixfmt parses `a + b + c` as `a + (b + c)`; mirror that so layout decisions match. */
function mkOp(a: Expr, op: string, b: Expr): Expr {
  if (op === "+" && a.t === "op" && a.op === "+")
    return { t: "op", a: a.a, op, b: { t: "op", a: a.b, op, b } };
  return { t: "op", a, op, b };
}

function lowerSel(key: NixAttrKey): Sel {
  if (typeof key === "string") {
    checkText(key);
    return isIdentifier(key)
      ? { t: "id", name: key }
      : { t: "str", line: [{ t: "text", text: escapeDoubleQuoted(key, false) }] };
  }
  if (key.kind === "string") {
    const s = lowerString(key.parts, true);
    if (s.t === "sstring") return { t: "str", line: s.line };
  }
  return { t: "interp", expr: lower(key) };
}

/**
 * Record a static binding path in `seen`; a repeated one is an error. A one-name path is kept
 * as its name in `seen.names` (cheap: most paths are one name), longer ones as their JSON in
 * `seen.paths`.
 */
function claim(seen: Seen, path: readonly NixAttrKey[]): void {
  for (const k of path) if (typeof k !== "string") return;
  const set = path.length === 1 ? seen.names : seen.paths;
  const key = path.length === 1 ? (path[0] as string) : JSON.stringify(path);
  if (set.has(key))
    throw new NixDslError(`attribute ${(path as string[]).join(".")} is defined twice`);
  set.add(key);
}

interface Seen {
  readonly names: Set<string>;
  readonly paths: Set<string>;
}

function lowerBindings(bindings: readonly NixBinding[], inLet: boolean): Item<Binder>[] {
  const items: Item<Binder>[] = [];
  const seen: Seen = { names: new Set(), paths: new Set() };
  for (const b of bindings) {
    if (b.comment !== undefined && b.comment.length > 0) {
      b.comment.forEach(checkText);
      if (b.comment.some((c) => /[\r\n]/.test(c)))
        throw new NixDslError("a comment line cannot contain a line break");
      items.push({ t: "comments", lines: b.comment });
    }
    if (b.kind === "inherit") {
      if (b.names.length === 0) throw new NixDslError("inherit needs at least one name");
      for (const name of b.names) claim(seen, [name]);
      items.push({
        t: "item",
        value: {
          t: "inherit",
          ...(b.from ? { from: { t: "paren", expr: lower(b.from) } as Term } : {}),
          names: b.names.map((n) => lowerSel(n)),
        },
      });
      continue;
    }
    if (b.path.length === 0) throw new NixDslError("a binding needs a name");
    if (inLet && b.path.some((k) => typeof k !== "string")) {
      throw new NixDslError("dynamic attribute names are not allowed in let");
    }
    claim(seen, b.path);
    items.push({
      t: "item",
      value: { t: "assign", sels: b.path.map(lowerSel), expr: lower(b.value) },
    });
  }
  return items;
}

function lowerParam(p: NixParam): Param {
  if (p.kind === "ident") return { t: "id", name: checkIdentifier(p.name, "parameter") };
  const names = new Set<string>();
  const attrs = p.formals.map((f): ParamAttr => {
    checkIdentifier(f.name, "formal");
    if (names.has(f.name)) throw new NixDslError(`formal ${f.name} appears twice`);
    names.add(f.name);
    return f.default === undefined ? { name: f.name } : { name: f.name, def: lower(f.default) };
  });
  const set: Param = { t: "set", attrs, ellipsis: p.ellipsis };
  if (p.bind === undefined) return set;
  const id: Param = { t: "id", name: checkIdentifier(p.bind.name, "@-binding") };
  if (names.has(p.bind.name)) throw new NixDslError(`@-binding ${p.bind.name} repeats a formal`);
  return p.bind.position === "before"
    ? { t: "ctx", first: id, second: set }
    : { t: "ctx", first: set, second: id };
}

// ---------------------------------------------------------------------------------------------
// Strings

type RawPart = string | NixExpr;

function normaliseParts(parts: readonly RawPart[]): RawPart[] {
  const out: RawPart[] = [];
  for (const p of parts) {
    if (typeof p === "string") {
      checkText(p);
      if (p === "") continue;
      const last = out[out.length - 1];
      if (typeof last === "string") out[out.length - 1] = last + p;
      else out.push(p);
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Split into lines of parts on the newlines of the text parts. */
function splitLines(parts: readonly RawPart[]): RawPart[][] {
  const lines: RawPart[][] = [[]];
  for (const p of parts) {
    if (typeof p !== "string") {
      lines[lines.length - 1]!.push(p);
      continue;
    }
    p.split("\n").forEach((chunk, i) => {
      if (i > 0) lines.push([]);
      if (chunk !== "") lines[lines.length - 1]!.push(chunk);
    });
  }
  return lines;
}

/**
 * `''…''` keeps a multi-line string readable, but Nix strips common indentation and some
 * whitespace, and nixfmt keeps string text verbatim: use it only where the value survives
 * exactly (reference §a.3 rule 5), otherwise `"…"`.
 */
function indentedFits(lines: readonly RawPart[][], all: readonly RawPart[]): boolean {
  if (lines.length < 2) return false;
  if (all.some((p) => typeof p === "string" && /[\t\r]/.test(p))) return false;
  let minIndent = Infinity;
  let anyContent = false;
  for (const line of lines) {
    if (line.length === 0) continue;
    anyContent = true;
    const first = line[0]!;
    const last = line[line.length - 1]!;
    if (typeof last === "string" && / $/.test(last)) return false;
    if (line.length === 1 && typeof first === "string" && /^ *$/.test(first)) return false;
    const indent = typeof first === "string" ? /^ */.exec(first)![0].length : 0;
    minIndent = Math.min(minIndent, indent);
  }
  return anyContent && minIndent === 0;
}

function lowerString(parts: readonly RawPart[], forceSimple = false): Term {
  const ps = normaliseParts(parts);
  const lines = splitLines(ps);
  if (!forceSimple && indentedFits(lines, ps)) {
    return {
      t: "istring",
      lines: lines.map((line, li) =>
        line.map((p, pi): Part => {
          if (typeof p !== "string") return { t: "interp", expr: lower(p) };
          const next = line[pi + 1];
          const after =
            next !== undefined ? "interpolation" : li === lines.length - 1 ? "close" : "newline";
          return { t: "text", text: escapeIndentedLine(p, after) };
        }),
      ),
    };
  }
  return {
    t: "sstring",
    line: ps.map((p, i): Part =>
      typeof p === "string"
        ? { t: "text", text: escapeDoubleQuoted(p, i + 1 < ps.length) }
        : { t: "interp", expr: lower(p) },
    ),
  };
}
