/**
 * A floor for the printer benchmark: the same AST written out by one recursive walk that makes
 * no layout decision at all. Every set, list and `let` is expanded one item a line, strings are
 * escaped by `JSON.stringify` (native), and nothing is measured, grouped or fixed up. Its output
 * is not canonical Nix (often not Nix at all: `JSON.stringify`'s escapes are not Nix's); it only
 * shows what walking this AST and building a string of this size costs in JavaScript, so the
 * printer's time can be read against what no JavaScript printer of this AST can go below.
 */
import type { NixAttrKey, NixBinding, NixExpr, NixParam } from "../dsl/index.ts";

const SPECIAL = /[\\"\n\r\t$]/;
const IDENT = /^[a-zA-Z_][a-zA-Z0-9_'-]*$/;

/** Line break plus indentation for each depth, made once. */
const BREAKS: string[] = [];
for (let d = 0; d < 128; d++) BREAKS.push("\n" + "  ".repeat(d));
const br = (d: number): string => BREAKS[d] ?? "\n" + "  ".repeat(d);

let out = "";

function key(k: NixAttrKey, d: number): void {
  if (typeof k !== "string") {
    out += "${";
    expr(k, d);
    out += "}";
  } else out += IDENT.test(k) ? k : JSON.stringify(k);
}

function path(keys: readonly NixAttrKey[], d: number): void {
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ".";
    key(keys[i]!, d);
  }
}

function str(parts: readonly (string | NixExpr)[], d: number): void {
  out += '"';
  for (const p of parts) {
    if (typeof p === "string") out += SPECIAL.test(p) ? JSON.stringify(p).slice(1, -1) : p;
    else {
      out += "${";
      expr(p, d);
      out += "}";
    }
  }
  out += '"';
}

function bindings(bs: readonly NixBinding[], d: number): void {
  for (const b of bs) {
    out += br(d);
    if (b.kind === "inherit") {
      out += "inherit ";
      if (b.from !== undefined) {
        out += "(";
        expr(b.from, d);
        out += ") ";
      }
      out += b.names.join(" ") + ";";
    } else {
      path(b.path, d);
      out += " = ";
      expr(b.value, d);
      out += ";";
    }
  }
}

function param(p: NixParam): void {
  if (p.kind === "ident") out += p.name;
  else out += "{ " + p.formals.map((f) => f.name).join(", ") + (p.ellipsis ? ", ... }" : " }");
}

function expr(e: NixExpr, d: number): void {
  switch (e.kind) {
    case "null":
      out += "null";
      return;
    case "bool":
      out += e.value ? "true" : "false";
      return;
    case "int":
      out += e.value.toString();
      return;
    case "float":
      out += String(e.value);
      return;
    case "string":
      str(e.parts, d);
      return;
    case "path":
      out += e.value;
      return;
    case "var":
      out += e.name;
      return;
    case "raw":
      out += "(" + e.text + ")";
      return;
    case "list":
      out += "[";
      for (const item of e.items) {
        out += br(d + 1);
        expr(item, d + 1);
      }
      out += br(d) + "]";
      return;
    case "attrs":
      out += e.rec ? "rec {" : "{";
      bindings(e.bindings, d + 1);
      out += br(d) + "}";
      return;
    case "let":
      out += "let";
      bindings(e.bindings, d + 1);
      out += br(d) + "in" + br(d);
      expr(e.body, d);
      return;
    case "with":
    case "assert":
      out += e.kind + " ";
      expr(e.kind === "with" ? e.scope : e.cond, d);
      out += ";" + br(d);
      expr(e.body, d);
      return;
    case "if":
      out += "if ";
      expr(e.cond, d);
      out += " then ";
      expr(e.then, d);
      out += " else ";
      expr(e.else, d);
      return;
    case "lambda":
      param(e.param);
      out += ":" + br(d);
      expr(e.body, d);
      return;
    case "apply":
      expr(e.fn, d);
      for (const a of e.args) {
        out += " (";
        expr(a, d);
        out += ")";
      }
      return;
    case "select":
    case "has":
      expr(e.base, d);
      out += e.kind === "has" ? " ? " : ".";
      path(e.path, d);
      if (e.kind === "select" && e.or !== undefined) {
        out += " or ";
        expr(e.or, d);
      }
      return;
    case "unary":
      out += e.op;
      expr(e.operand, d);
      return;
    case "binary":
      expr(e.left, d);
      out += " " + e.op + " ";
      expr(e.right, d);
      return;
  }
}

/** `e` written out with no layout decisions (see the module comment). */
export function noLayoutWalk(e: NixExpr): string {
  out = "";
  expr(e, 0);
  const text = out;
  out = "";
  return text;
}
