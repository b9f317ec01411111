/**
 * A deliberately naive, single-line printer used as the oracle of the parse property: every
 * compound subexpression is wrapped in parentheses, so no precedence or associativity knowledge
 * is needed. Its string escaping is its own and maximal (every `$` becomes `\$`), independent of
 * `dsl/lexical.ts`. It must denote the same Nix AST as `printExpr` of the same DSL value.
 *
 * Where a value has no literal, the DSL writes an equivalent expression, and so does this
 * printer (the parse trees must match): the int64 minimum is `-9223372036854775807 - 1`, a
 * subnormal float `(x · 2^52) / 2^52`, a path the lexer cannot read `./. + "/rest"` or
 * `/. + "rest"`. And `(a.b).c` is `a.b.c` (only when no `or` is involved), as in the DSL.
 */
import type { NixAttrKey, NixBinding, NixExpr, NixParam } from "../../../dsl/index.ts";

const KEYWORDS = new Set([
  "if",
  "then",
  "else",
  "assert",
  "with",
  "let",
  "in",
  "rec",
  "inherit",
  "or",
]);
const IDENT = /^[a-zA-Z_][a-zA-Z0-9_'-]*$/;
const isIdent = (s: string): boolean => IDENT.test(s) && !KEYWORDS.has(s);
const INT64_MIN = -(1n << 63n);
// Nix's lexer (reference §a.5): PATH_CHAR and PATH, without a trailing slash.
const PATH = /^[a-zA-Z0-9._+-]*(\/[a-zA-Z0-9._+-]+)+$/;

/** `"…"` text with every special character escaped (`\$` is always a valid escape for `$`). */
export function escapeAll(text: string): string {
  let out = "";
  for (const c of text) {
    switch (c) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "$":
        out += "\\$";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

function floatLiteral(v: number): string {
  // The shortest round-trip digits, forced to contain a `.` (Nix floats need one).
  const [m, e] = String(v).split("e") as [string, string | undefined];
  const mm = m.includes(".") ? m : `${m}.0`;
  return e === undefined ? mm : `${mm}e${e}`;
}

function float(v: number): string {
  const abs = Math.abs(v);
  const neg = v < 0 || Object.is(v, -0);
  if (abs !== 0 && abs < 2.2250738585072014e-308) {
    const num = floatLiteral(abs * 2 ** 52);
    return `((${neg ? `(-${num})` : num}) / ${floatLiteral(2 ** 52)})`;
  }
  return neg ? `(-${floatLiteral(abs)})` : floatLiteral(abs);
}

function path(p: string): string {
  const literal =
    p === "/" || ((p.startsWith("/") || p.startsWith("./") || p.startsWith("../")) && PATH.test(p));
  if (literal) return p === "/" ? "/." : p;
  if (p.startsWith("/")) return `(/. + "${escapeAll(p)}")`;
  return `(./. + "${escapeAll(`/${p.replace(/^\.\//, "")}`)}")`;
}

function str(parts: readonly (string | NixExpr)[]): string {
  return `"${parts.map((p) => (typeof p === "string" ? escapeAll(p) : `\${${full(p)}}`)).join("")}"`;
}

function key(k: NixAttrKey): string {
  if (typeof k === "string") return isIdent(k) ? k : `"${escapeAll(k)}"`;
  if (k.kind === "string") return str(k.parts);
  return `\${${full(k)}}`;
}

function bindings(bs: readonly NixBinding[]): string {
  return bs
    .map((b) => {
      if (b.kind === "inherit") {
        const from = b.from === undefined ? "" : ` (${full(b.from)})`;
        return `inherit${from} ${b.names.map((n) => key(n)).join(" ")};`;
      }
      return `${b.path.map(key).join(".")} = ${full(b.value)};`;
    })
    .join(" ");
}

function param(p: NixParam): string {
  if (p.kind === "ident") return p.name;
  const formals = p.formals.map((f) =>
    f.default === undefined ? f.name : `${f.name} ? ${full(f.default)}`,
  );
  if (p.ellipsis) formals.push("...");
  const set = `{ ${formals.join(", ")} }`;
  if (p.bind === undefined) return set;
  return p.bind.position === "before" ? `${p.bind.name}@${set}` : `${set}@${p.bind.name}`;
}

/** Render `e` on one line, parenthesising every subexpression that is not an atom. */
export function full(e: NixExpr): string {
  switch (e.kind) {
    case "null":
      return "null";
    case "bool":
      return e.value ? "true" : "false";
    case "int":
      if (e.value === INT64_MIN) return "(-9223372036854775807 - 1)";
      return e.value < 0n ? `(-${-e.value})` : e.value.toString();
    case "float":
      return float(e.value);
    case "string":
      return str(e.parts);
    case "path":
      return path(e.value);
    case "var":
      return e.name;
    case "list":
      return `[ ${e.items.map((i) => `(${full(i)})`).join(" ")} ]`;
    case "attrs":
      return `(${e.rec ? "rec " : ""}{ ${bindings(e.bindings)} })`;
    case "let":
      return `(let ${bindings(e.bindings)} in (${full(e.body)}))`;
    case "with":
      return `(with (${full(e.scope)}); (${full(e.body)}))`;
    case "assert":
      return `(assert (${full(e.cond)}); (${full(e.body)}))`;
    case "if":
      return `(if (${full(e.cond)}) then (${full(e.then)}) else (${full(e.else)}))`;
    case "lambda":
      return `(${param(e.param)}: (${full(e.body)}))`;
    case "apply":
      if (e.args.length === 0) return full(e.fn);
      return `((${full(e.fn)}) ${e.args.map((a) => `(${full(a)})`).join(" ")})`;
    case "select": {
      let base = e.base;
      let path = e.path;
      while (e.or === undefined && base.kind === "select" && base.or === undefined) {
        path = [...base.path, ...path];
        base = base.base;
      }
      const or = e.or === undefined ? "" : ` or (${full(e.or)})`;
      return `((${full(base)}).${path.map(key).join(".")}${or})`;
    }
    case "has":
      return `((${full(e.base)}) ? ${e.path.map(key).join(".")})`;
    case "unary":
      return `(${e.op}(${full(e.operand)}))`;
    case "binary":
      return `((${full(e.left)}) ${e.op} (${full(e.right)}))`;
    case "raw":
      return `(${e.text})`;
  }
}
