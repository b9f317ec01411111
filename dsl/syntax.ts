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
  /** A list: its items are lowered as the printer reaches them (see {@link lowerTerm}). */
  | { readonly t: "list"; readonly items: readonly NixExpr[] }
  /** A set: its bindings are lowered as the printer reaches them ({@link BindingsLowering}). */
  | { readonly t: "set"; readonly rec: boolean; readonly bindings: readonly NixBinding[] }
  | { readonly t: "select"; readonly term: Term; readonly sels: readonly Sel[]; readonly or?: Term }
  | { readonly t: "paren"; readonly expr: Expr };

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
  | { readonly t: "let"; readonly bindings: readonly NixBinding[]; readonly body: NixExpr }
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

/**
 * The binding strength of the expression {@link lowerL} returned last (module state, read right
 * after each call: a pair object per node would double what lowering allocates).
 */
let lvl = TERM;

const term = (t: Term): Expr => ({ t: "term", term: t });
const token = (text: string, num = false): Expr => term({ t: "token", text, num });

// Syntax trees are immutable: the constants are shared.
const NULL = token("null");
const TRUE = token("true");
const FALSE = token("false");

function ret(expr: Expr, level: number): Expr {
  lvl = level;
  return expr;
}

/** A path literal in parentheses: a `.` or `-` next to it would be read as part of the path. */
function isolatePath(t: Term): Term {
  return t.t === "path" ? { t: "paren", expr: term(t) } : t;
}

function paren(expr: Expr, level: number): Term {
  return expr.t === "term" && level === TERM ? expr.term : { t: "paren", expr };
}

/** The expression as a term (`(…)` unless it binds at least as tightly as `maxLevel`). */
function asTerm(expr: Expr, level: number, maxLevel: number = SELECT): Term {
  if (level <= maxLevel && expr.t === "term") return expr.term;
  return { t: "paren", expr };
}

/** Lower `e` and take it as a term (see {@link asTerm}): a list item. */
export function lowerTerm(e: NixExpr): Term {
  const x = lowerL(e);
  return asTerm(x, lvl);
}

function wrap(expr: Expr, level: number, maxLevel: number): Expr {
  return level <= maxLevel ? expr : term({ t: "paren", expr });
}

/** Lower a whole expression. */
export function lower(e: NixExpr): Expr {
  return lowerL(e);
}

function lowerL(e: NixExpr): Expr {
  switch (e.kind) {
    case "null":
      return ret(NULL, TERM);
    case "bool":
      return ret(e.value ? TRUE : FALSE, TERM);
    case "int": {
      const v = checkInt(e.value);
      if (v >= 0n) return ret(token(v.toString(), true), TERM);
      if (v === INT64_MIN_VALUE) {
        // No literal exists for the minimum: (-9223372036854775807 - 1).
        const max = { t: "neg", expr: token((-(v + 1n)).toString(), true) } as const;
        return ret({ t: "op", a: max, op: "-", b: token("1", true) }, 7);
      }
      return ret({ t: "neg", expr: token((-v).toString(), true) }, NEGATE);
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
        return ret({ t: "op", a, op: "/", b: token(formatFloat(2 ** 52), true) }, 6);
      }
      if (v < 0 || Object.is(v, -0)) {
        return ret({ t: "neg", expr: token(formatFloat(-v), true) }, NEGATE);
      }
      return ret(token(formatFloat(v), true), TERM);
    }
    case "string":
      return ret(term(lowerString(e.parts)), TERM);
    case "path": {
      const lit = pathLiteral(e.value);
      if (lit !== undefined) return ret(term({ t: "path", text: lit }), TERM);
      // Not expressible as a literal: build it from a base path and a string.
      const absolute = e.value.startsWith("/");
      const rest = absolute ? e.value : e.value.replace(/^\.\//, "");
      const base = term({ t: "path", text: absolute ? "/." : "./." });
      const suffix = term(lowerString([absolute ? rest : `/${rest}`]));
      return ret({ t: "op", a: base, op: "+", b: suffix }, 7);
    }
    case "var":
      return ret(token(checkIdentifier(e.name, "variable")), TERM);
    case "raw":
      checkText(e.text);
      if (/[\r\n]/.test(e.text)) throw new NixDslError("raw Nix text must be a single line");
      return ret(term({ t: "paren", expr: token(e.text) }), TERM);
    case "list":
      return ret(term({ t: "list", items: e.items }), TERM);
    case "attrs":
      return ret(term({ t: "set", rec: e.rec, bindings: e.bindings }), TERM);
    case "let":
      return ret({ t: "let", bindings: e.bindings, body: e.body }, LOWEST);
    case "with": {
      const scope = lower(e.scope);
      return ret({ t: "with", scope, body: lower(e.body) }, LOWEST);
    }
    case "assert": {
      const cond = lower(e.cond);
      return ret({ t: "assert", cond, body: lower(e.body) }, LOWEST);
    }
    case "if": {
      const cond = lower(e.cond);
      const then = lower(e.then);
      return ret({ t: "if", cond, then, else: lower(e.else) }, LOWEST);
    }
    case "lambda": {
      const param = lowerParam(e.param);
      return ret({ t: "lambda", param, body: lower(e.body) }, LOWEST);
    }
    case "apply": {
      if (e.args.length === 0) return lowerL(e.fn);
      const fn = lowerL(e.fn);
      let f = wrap(fn, lvl, APPLY);
      for (const arg of e.args) f = { t: "app", f, a: term(lowerTerm(arg)) };
      return ret(f, APPLY);
    }
    case "select": {
      if (e.path.length === 0)
        throw new NixDslError("a selection needs at least one attribute name");
      let base = lowerL(e.base);
      let baseLevel = lvl;
      let sels = lowerSels(e.path);
      // `(a.b).c` is `a.b.c`: merge plain selections. Not under an `or`: `(a.b).c or d`
      // fails when `b` is missing, `a.b.c or d` gives `d`.
      if (
        e.or === undefined &&
        base.t === "term" &&
        base.term.t === "select" &&
        base.term.or === undefined
      ) {
        sels = [...base.term.sels, ...sels];
        base = term(base.term.term);
        baseLevel = TERM;
      }
      const or = e.or === undefined ? undefined : lowerTerm(e.or);
      // `./a.b` would lex as the path `./a.b`: a path base needs parentheses.
      const inner = isolatePath(paren(base, baseLevel));
      const t: Term =
        or === undefined
          ? { t: "select", term: inner, sels }
          : { t: "select", term: inner, sels, or };
      return ret(term(t), SELECT);
    }
    case "has": {
      if (e.path.length === 0) throw new NixDslError("`?` needs at least one attribute name");
      const base = lowerL(e.base);
      const expr = wrap(base, lvl, NEGATE);
      return ret({ t: "has", expr, sels: lowerSels(e.path) }, HAS);
    }
    case "unary": {
      const operand = lowerL(e.operand);
      const level = lvl;
      // `-./a` (and `-/a`) would lex as one path: a path operand needs parentheses.
      if (e.op === "-")
        return ret({ t: "neg", expr: term(isolatePath(asTerm(operand, level))) }, NEGATE);
      // `!` binds looser than arithmetic; parenthesise anything but terms, calls and `!` for clarity.
      const inner =
        level <= NEGATE || level === NOT ? operand : term({ t: "paren", expr: operand });
      return ret({ t: "not", expr: inner }, NOT);
    }
    case "binary": {
      const spec = BINARY[e.op];
      if (spec === undefined) throw new NixDslError(`unknown operator ${e.op}`);
      const [level, assoc] = spec;
      const l = lowerL(e.left);
      const ll = lvl;
      const r = lowerL(e.right);
      const rl = lvl;
      const a = wrapOperand(l, ll, level, assoc === "left");
      const b = wrapOperand(r, rl, level, assoc === "right");
      return ret(mkOp(a, e.op, b), level);
    }
  }
}

function wrapOperand(expr: Expr, l: number, level: number, sameLevelOk: boolean): Expr {
  // A `!` operand always gets parentheses: `a * !b` reads badly even where it parses.
  if (l === NOT && level < NOT) return term({ t: "paren", expr });
  const ok = sameLevelOk ? l <= level : l < level;
  return ok ? expr : term({ t: "paren", expr });
}

/** nixfmt parses `a + b + c` as `a + (b + c)`; mirror that so layout decisions match. */
function mkOp(a: Expr, op: string, b: Expr): Expr {
  if (op === "+" && a.t === "op" && a.op === "+")
    return { t: "op", a: a.a, op, b: { t: "op", a: a.b, op, b } };
  return { t: "op", a, op, b };
}

function lowerSels(path: readonly NixAttrKey[]): Sel[] {
  const sels: Sel[] = [];
  for (const k of path) sels.push(lowerSel(k));
  return sels;
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
 * The static binding paths of one set or `let` seen so far; a repeated one is an error. One-name
 * paths (most) are kept as the name, longer ones as their JSON. A set of a few bindings is
 * checked by looking through the list; a `Set` is made once it grows past that.
 */
class Seen {
  private names: string[] = [];
  private paths: string[] = [];
  private nameSet: Set<string> | undefined;
  private pathSet: Set<string> | undefined;

  claim(path: readonly NixAttrKey[]): void {
    for (const k of path) if (typeof k !== "string") return;
    const one = path.length === 1;
    const key = one ? (path[0] as string) : JSON.stringify(path);
    if (one ? this.add(this.names, key, true) : this.add(this.paths, key, false)) return;
    throw new NixDslError(`attribute ${(path as string[]).join(".")} is defined twice`);
  }

  /** Add `key`; false when it was there already. */
  private add(list: string[], key: string, names: boolean): boolean {
    let set = names ? this.nameSet : this.pathSet;
    if (set === undefined) {
      if (list.includes(key)) return false;
      list.push(key);
      if (list.length <= 16) return true;
      set = new Set(list);
      if (names) this.nameSet = set;
      else this.pathSet = set;
      return true;
    }
    const size = set.size;
    return set.add(key).size > size;
  }
}

/**
 * The bindings of one set or `let`, lowered one at a time as the printer reaches them: the
 * syntax of a binding lives only while it is laid out, so a large description never exists
 * twice in memory (and the collector has little to copy).
 */
export class BindingsLowering {
  private readonly seen = new Seen();
  constructor(private readonly inLet: boolean) {}

  /** The comment lines above `b` (checked), or undefined. */
  comments(b: NixBinding): readonly string[] | undefined {
    if (b.comment === undefined || b.comment.length === 0) return undefined;
    b.comment.forEach(checkText);
    if (b.comment.some((c) => /[\r\n]/.test(c)))
      throw new NixDslError("a comment line cannot contain a line break");
    return b.comment;
  }

  /**
   * The text of `b`'s path when `b` binds at most four plain names to a leaf ({@link leafKind}),
   * claimed as {@link binder} would; else undefined, with nothing checked or claimed.
   */
  leafPath(b: NixBinding): string | undefined {
    if (b.kind !== "binding" || b.path.length === 0 || b.path.length > 4) return undefined;
    let lhs = "";
    for (const k of b.path) {
      if (typeof k !== "string" || !isIdentifier(k)) return undefined;
      lhs = lhs === "" ? k : `${lhs}.${k}`;
    }
    if (leafKind(b.value) === NOT_LEAF) return undefined;
    this.seen.claim(b.path);
    return lhs;
  }

  /** `b` lowered; a name bound twice in the set is an error. */
  binder(b: NixBinding): Binder {
    if (b.kind === "inherit") {
      if (b.names.length === 0) throw new NixDslError("inherit needs at least one name");
      for (const name of b.names) this.seen.claim([name]);
      const names = b.names.map((n) => lowerSel(n));
      return b.from
        ? { t: "inherit", from: { t: "paren", expr: lower(b.from) }, names }
        : { t: "inherit", names };
    }
    if (b.path.length === 0) throw new NixDslError("a binding needs a name");
    if (this.inLet && b.path.some((k) => typeof k !== "string")) {
      throw new NixDslError("dynamic attribute names are not allowed in let");
    }
    this.seen.claim(b.path);
    return { t: "assign", sels: lowerSels(b.path), expr: lower(b.value) };
  }
}

// ---------------------------------------------------------------------------------------------
// Leaves: expressions that print as one text whatever the layout, which `format.ts` writes
// without a syntax tree (most values in a generated file are leaves).

/** What kind of leaf `e` is (a shape test, nothing checked): not one, a token, a string. */
export const NOT_LEAF = 0;
export const TOKEN_LEAF = 1;
export const STRING_LEAF = 2;

/**
 * `null`, a boolean, a non-negative integer, a variable or a variable's path of names
 * (`pkgs.hello`) is a token leaf; a one-line string without interpolation a string leaf.
 */
export function leafKind(e: NixExpr): number {
  switch (e.kind) {
    case "null":
    case "bool":
    case "var":
      return TOKEN_LEAF;
    case "int":
      return e.value >= 0n ? TOKEN_LEAF : NOT_LEAF;
    case "select": {
      if (e.or !== undefined || e.base.kind !== "var" || e.path.length === 0) return NOT_LEAF;
      if (!isIdentifier(e.base.name)) return NOT_LEAF;
      for (const k of e.path) if (typeof k !== "string" || !isIdentifier(k)) return NOT_LEAF;
      return TOKEN_LEAF;
    }
    case "string": {
      const only = e.parts[0];
      const one = e.parts.length === 1 && typeof only === "string" && !only.includes("\n");
      return one ? STRING_LEAF : NOT_LEAF;
    }
    default:
      return NOT_LEAF;
  }
}

/**
 * The text of a leaf (`leafKind(e)` is not {@link NOT_LEAF}), checked and escaped as
 * {@link lower} does, in its order, so a bad leaf fails with the same error.
 */
export function leafText(e: NixExpr): string {
  switch (e.kind) {
    case "null":
      return "null";
    case "bool":
      return e.value ? "true" : "false";
    case "int":
      return checkInt(e.value).toString();
    case "var":
      return checkIdentifier(e.name, "variable");
    case "select": {
      let t = e.base.kind === "var" ? e.base.name : "";
      for (const k of e.path) t = `${t}.${k as string}`;
      return t;
    }
    case "string": {
      const only = e.parts[0] as string;
      checkText(only);
      return only === "" ? '""' : `"${escapeDoubleQuoted(only, false)}"`;
    }
    default:
      throw new Error(`not a leaf: ${e.kind}`);
  }
}

/** Does a set of these bindings print as a single `inherit` (no comment)? */
export function isSingleInherit(bindings: readonly NixBinding[]): boolean {
  const [only] = bindings;
  return (
    bindings.length === 1 &&
    only!.kind === "inherit" &&
    (only!.comment === undefined || only!.comment.length === 0)
  );
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
  let line: RawPart[] = [];
  const lines: RawPart[][] = [line];
  for (const p of parts) {
    if (typeof p !== "string") {
      line.push(p);
      continue;
    }
    let from = 0;
    for (;;) {
      const nl = p.indexOf("\n", from);
      const chunk = nl < 0 ? p.slice(from) : p.slice(from, nl);
      if (chunk !== "") line.push(chunk);
      if (nl < 0) break;
      line = [];
      lines.push(line);
      from = nl + 1;
    }
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
  for (const p of all)
    if (typeof p === "string" && (p.includes("\t") || p.includes("\r"))) return false;
  let minIndent = Infinity;
  let anyContent = false;
  for (const line of lines) {
    if (line.length === 0) continue;
    anyContent = true;
    const first = line[0]!;
    const last = line[line.length - 1]!;
    if (typeof last === "string" && last.endsWith(" ")) return false;
    const indent = typeof first === "string" ? leadingBlanks(first) : 0;
    if (line.length === 1 && typeof first === "string" && indent === first.length) return false;
    if (indent < minIndent) minIndent = indent;
  }
  return anyContent && minIndent === 0;
}

/** The number of spaces `t` starts with. */
function leadingBlanks(t: string): number {
  let i = 0;
  while (i < t.length && t.charCodeAt(i) === 32) i++;
  return i;
}

function lowerString(parts: readonly RawPart[], forceSimple = false): Term {
  const only = parts[0];
  if (parts.length === 1 && typeof only === "string" && !only.includes("\n")) {
    // The common case: one line of text, no interpolation.
    checkText(only);
    return {
      t: "sstring",
      line: only === "" ? [] : [{ t: "text", text: escapeDoubleQuoted(only, false) }],
    };
  }
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
