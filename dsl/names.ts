/** Which variables an expression refers to, e.g. to give a module exactly the arguments it uses. */
import type { NixAttrKey, NixBinding, NixExpr, NixParam } from "./ast.ts";
import { type NixValue, toExpr } from "./constructors.ts";

/**
 * Names of the variables `value` refers to and does not bind itself (`let`, function parameters
 * and `rec` bindings are subtracted; names under `with` count, as they may come from outside).
 */
export function freeVariables(value: NixValue): Set<string> {
  const out = new Set<string>();
  visit(toExpr(value), new Set(), out);
  return out;
}

function visitKeys(
  keys: readonly NixAttrKey[],
  bound: ReadonlySet<string>,
  out: Set<string>,
): void {
  for (const k of keys) if (typeof k !== "string") visit(k, bound, out);
}

function visitBindings(
  bs: readonly NixBinding[],
  bound: ReadonlySet<string>,
  out: Set<string>,
): void {
  for (const b of bs) {
    if (b.kind === "inherit") {
      if (b.from) visit(b.from, bound, out);
      else for (const n of b.names) if (!bound.has(n)) out.add(n);
    } else {
      visitKeys(b.path, bound, out);
      visit(b.value, bound, out);
    }
  }
}

function bindingNames(bs: readonly NixBinding[]): string[] {
  return bs.flatMap((b) =>
    b.kind === "inherit" ? b.names : typeof b.path[0] === "string" ? [b.path[0]] : [],
  );
}

function paramNames(p: NixParam): string[] {
  if (p.kind === "ident") return [p.name];
  return [...p.formals.map((f) => f.name), ...(p.bind ? [p.bind.name] : [])];
}

function visit(e: NixExpr, bound: ReadonlySet<string>, out: Set<string>): void {
  switch (e.kind) {
    case "var":
      if (!bound.has(e.name)) out.add(e.name);
      return;
    case "string":
      for (const p of e.parts) if (typeof p !== "string") visit(p, bound, out);
      return;
    case "list":
      for (const i of e.items) visit(i, bound, out);
      return;
    case "attrs": {
      const inner = e.rec ? new Set([...bound, ...bindingNames(e.bindings)]) : bound;
      visitBindings(e.bindings, inner, out);
      return;
    }
    case "let": {
      const inner = new Set([...bound, ...bindingNames(e.bindings)]);
      visitBindings(e.bindings, inner, out);
      visit(e.body, inner, out);
      return;
    }
    case "with":
      visit(e.scope, bound, out);
      visit(e.body, bound, out);
      return;
    case "assert":
      visit(e.cond, bound, out);
      visit(e.body, bound, out);
      return;
    case "if":
      visit(e.cond, bound, out);
      visit(e.then, bound, out);
      visit(e.else, bound, out);
      return;
    case "lambda": {
      const inner = new Set([...bound, ...paramNames(e.param)]);
      if (e.param.kind === "set")
        for (const f of e.param.formals) if (f.default) visit(f.default, inner, out);
      visit(e.body, inner, out);
      return;
    }
    case "apply":
      visit(e.fn, bound, out);
      for (const a of e.args) visit(a, bound, out);
      return;
    case "select":
      visit(e.base, bound, out);
      visitKeys(e.path, bound, out);
      if (e.or) visit(e.or, bound, out);
      return;
    case "has":
      visit(e.base, bound, out);
      visitKeys(e.path, bound, out);
      return;
    case "unary":
      visit(e.operand, bound, out);
      return;
    case "binary":
      visit(e.left, bound, out);
      visit(e.right, bound, out);
      return;
    case "null":
    case "bool":
    case "int":
    case "float":
    case "path":
    case "raw":
      return;
  }
}
