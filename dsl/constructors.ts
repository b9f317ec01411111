/**
 * Constructors: the friendly way to build Nix expressions.
 *
 * Plain JavaScript values convert on their own (`toExpr`): strings, numbers, bigints, booleans,
 * null, arrays and plain objects. References such as `pkgs.qemu_kvm` or `lib.getExe` are typed,
 * callable values (`lib.getExe(pkgs.qemu_kvm)` is an application). `nix` is a tagged template
 * for interpolated strings whose holes are expressions; a plain JS string in a hole is text,
 * never Nix source.
 */
import type {
  NixAttrKey,
  NixAttrs,
  NixBinaryOp,
  NixBinding,
  NixExpr,
  NixFormal,
  NixLambda,
  NixParam,
  NixString,
} from "./ast.ts";
import { NixDslError } from "./errors.ts";
import { checkIdentifier } from "./lexical.ts";

const NODE = Symbol("vmflake.nix.node");

/** A reference such as `pkgs.qemu_kvm`: an expression you can select from and call. */
export interface NixRef {
  /** Apply the referenced function: `lib.getExe(pkgs.qemu_kvm)`. */
  (...args: NixValue[]): NixExpr;
  /** Select an attribute: `pkgs.qemu_kvm`. */
  readonly [name: string]: NixRef;
  // Names that a function type would otherwise claim (`builtins.length`, `lib.toString` …).
  readonly length: NixRef;
  readonly name: NixRef;
  readonly call: NixRef;
  readonly apply: NixRef;
  readonly bind: NixRef;
  readonly toString: NixRef;
  /** The expression this reference stands for. */
  readonly [NODE]: NixExpr;
}

/** Anything that converts to a Nix expression. */
export type NixValue =
  | NixExpr
  | NixRef
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly NixValue[]
  | { readonly [key: string]: NixValue | undefined };

const EXPR_KINDS: ReadonlySet<string> = new Set([
  "null",
  "bool",
  "int",
  "float",
  "string",
  "path",
  "var",
  "list",
  "attrs",
  "let",
  "with",
  "assert",
  "if",
  "lambda",
  "apply",
  "select",
  "has",
  "unary",
  "binary",
  "raw",
]);

function isRef(v: unknown): v is NixRef {
  return typeof v === "function" && NODE in v;
}

/** True for a value built by these constructors (not a plain object). */
export function isExpr(v: unknown): v is NixExpr {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    Object.getPrototypeOf(v) === NodeProto &&
    EXPR_KINDS.has((v as { kind?: unknown }).kind as string)
  );
}

// Nodes share a prototype so that a plain object `{ kind: "int" }` from user data is never
// mistaken for an expression.
const NodeProto: object = Object.freeze(Object.create(null));

// Bindings get their own prototype, so passing one where an expression belongs is an error.
const BindingProto: object = Object.freeze(Object.create(null));

// Nodes are not frozen (their types are readonly): V8 reads frozen objects built this way
// several times slower, and the printer reads every node.
function binding<T extends NixBinding>(fields: T): T {
  return Object.assign(Object.create(BindingProto) as T, fields);
}

function node<T extends NixExpr>(fields: T): T {
  return Object.assign(Object.create(NodeProto) as T, fields);
}

/** Convert a plain value (or an expression, or a reference) to an expression. */
export function toExpr(v: NixValue): NixExpr {
  if (isRef(v)) return v[NODE];
  if (v === null) return node({ kind: "null" });
  switch (typeof v) {
    case "string":
      return str(v);
    case "boolean":
      return node({ kind: "bool", value: v });
    case "bigint":
      return int(v);
    case "number":
      // Exact integers become Nix integers; anything else (1.5, 1e21) is a float.
      return Number.isSafeInteger(v) ? int(BigInt(v)) : float(v);
  }
  if (Array.isArray(v)) return list(v as readonly NixValue[]);
  if (isExpr(v)) return v;
  if (typeof v === "object") {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === BindingProto) {
      throw new NixDslError("a binding is not an expression: put bindings in attrs([...])");
    }
    if (proto !== Object.prototype && proto !== null) {
      throw new NixDslError("only plain objects convert to attribute sets");
    }
    return attrs(v as { readonly [key: string]: NixValue | undefined });
  }
  throw new NixDslError(`cannot convert ${typeof v} to Nix`);
}

// ---------------------------------------------------------------------------------------------
// Literals

/** A 64-bit integer. */
export function int(value: bigint | number): NixExpr {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new NixDslError(`${value} is not an exact integer; pass a bigint`);
  }
  return node({ kind: "int", value: BigInt(value) });
}

/** A float (printed with a `.` so Nix reads a float, even for `1`). */
export function float(value: number): NixExpr {
  if (!Number.isFinite(value))
    throw new NixDslError(`${value} has no Nix literal (only finite floats do)`);
  return node({ kind: "float", value });
}

/** A string of literal text. */
export function str(value: string): NixExpr {
  return node({ kind: "string", parts: [value] });
}

/**
 * An interpolated string: ``nix`exec ${lib.getExe(pkgs.qemu_kvm)} -name ${name}` ``.
 * Holes holding expressions become `${…}`; holes holding JS strings are escaped text.
 */
export function nix(strings: TemplateStringsArray, ...holes: NixValue[]): NixString {
  const parts: (string | NixExpr)[] = [strings[0]!];
  holes.forEach((h, i) => {
    if (typeof h === "string") parts.push(h);
    else parts.push(toExpr(h));
    parts.push(strings[i + 1]!);
  });
  return node({ kind: "string", parts });
}

/** Join strings and expressions into one interpolated string. */
export function concat(parts: readonly (string | NixValue)[]): NixExpr {
  return node({
    kind: "string",
    parts: parts.map((p) => (typeof p === "string" ? p : toExpr(p))),
  });
}

/** A path literal: `./modules/study.nix`. */
export function path(value: string): NixExpr {
  return node({ kind: "path", value });
}

// ---------------------------------------------------------------------------------------------
// References

function makeRef(e: NixExpr): NixRef {
  const target = function () {} as unknown as NixRef;
  return new Proxy(target, {
    get(_t, prop) {
      if (prop === NODE) return e;
      if (typeof prop === "symbol") return undefined;
      return makeRef(select(e, prop));
    },
    apply(_t, _this, args: NixValue[]) {
      return call(e, ...args);
    },
    has(_t, prop) {
      return prop === NODE;
    },
  });
}

/** A variable, usable as a reference: `ref("pkgs").qemu_kvm`. */
export function ref(name: string): NixRef {
  return makeRef(v(name));
}

/** A plain variable expression. */
export function v(name: string): NixExpr {
  return node({ kind: "var", name: checkIdentifier(name, "variable") });
}

/** `pkgs`, `lib`, `config`, `builtins`, `self`, `nixpkgs` — the names every module uses. */
export const pkgs: NixRef = ref("pkgs");
export const lib: NixRef = ref("lib");
export const config: NixRef = ref("config");
export const builtins: NixRef = ref("builtins");

// ---------------------------------------------------------------------------------------------
// Compound expressions

export function list(items: readonly NixValue[]): NixExpr {
  return node({ kind: "list", items: items.map(toExpr) });
}

/** A binding `a.b.c = value;` (a string path is split on nothing: pass an array for nesting). */
export function bind(
  path: string | readonly NixAttrKey[],
  value: NixValue,
  opts?: { comment?: string | readonly string[] },
): NixBinding {
  const p = typeof path === "string" ? [path] : path;
  const comment = opts?.comment;
  return binding({
    kind: "binding",
    path: p.map((k) => (typeof k === "string" ? k : toExpr(k))),
    value: toExpr(value),
    ...(comment === undefined
      ? {}
      : { comment: typeof comment === "string" ? [comment] : comment }),
  });
}

/** `inherit a b;` or, with `from`, `inherit (from) a b;`. */
export function inherit(
  names: readonly string[],
  opts?: { from?: NixValue; comment?: string | readonly string[] },
): NixBinding {
  const comment = opts?.comment;
  return binding({
    kind: "inherit",
    names,
    ...(opts?.from === undefined ? {} : { from: toExpr(opts.from) }),
    ...(comment === undefined
      ? {}
      : { comment: typeof comment === "string" ? [comment] : comment }),
  });
}

type BindingsInput = readonly NixBinding[] | { readonly [key: string]: NixValue | undefined };

function toBindings(b: BindingsInput): NixBinding[] {
  if (Array.isArray(b)) return [...(b as readonly NixBinding[])];
  return Object.entries(b as { readonly [key: string]: NixValue | undefined })
    .filter((e): e is [string, NixValue] => e[1] !== undefined)
    .map(([k, val]) => bind(k, val));
}

/** An attribute set from an object (keys are names, never paths) or a list of bindings. */
export function attrs(b: BindingsInput): NixAttrs {
  return node({ kind: "attrs", rec: false, bindings: toBindings(b) });
}

/** `rec { … }`. */
export function rec(b: BindingsInput): NixAttrs {
  return node({ kind: "attrs", rec: true, bindings: toBindings(b) });
}

export function let_(b: BindingsInput, body: NixValue): NixExpr {
  return node({ kind: "let", bindings: toBindings(b), body: toExpr(body) });
}

export function with_(scope: NixValue, body: NixValue): NixExpr {
  return node({ kind: "with", scope: toExpr(scope), body: toExpr(body) });
}

export function assert_(cond: NixValue, body: NixValue): NixExpr {
  return node({ kind: "assert", cond: toExpr(cond), body: toExpr(body) });
}

export function if_(cond: NixValue, then: NixValue, otherwise: NixValue): NixExpr {
  return node({ kind: "if", cond: toExpr(cond), then: toExpr(then), else: toExpr(otherwise) });
}

/** Function application `fn a b`. */
export function call(fn: NixValue, ...args: NixValue[]): NixExpr {
  return node({ kind: "apply", fn: toExpr(fn), args: args.map(toExpr) });
}

/** `base.a.b` (with `or` default when given). */
export function select(base: NixValue, ...path: (NixAttrKey | NixValue)[]): NixExpr {
  return node({ kind: "select", base: toExpr(base), path: path.map(attrKey) });
}

/** `base.a.b or fallback`. */
export function selectOr(base: NixValue, path: readonly NixAttrKey[], fallback: NixValue): NixExpr {
  return node({
    kind: "select",
    base: toExpr(base),
    path: path.map(attrKey),
    or: toExpr(fallback),
  });
}

/** `base ? a.b`. */
export function has(base: NixValue, ...path: NixAttrKey[]): NixExpr {
  return node({ kind: "has", base: toExpr(base), path: path.map(attrKey) });
}

function attrKey(k: NixAttrKey | NixValue): NixAttrKey {
  return typeof k === "string" ? k : toExpr(k);
}

/** A parameter: an identifier, or a set pattern. */
export type ParamSpec =
  | string
  | {
      /** Formals in order; a value gives the default (`name ? value`). */
      readonly formals: readonly (string | readonly [string, NixValue])[];
      readonly ellipsis?: boolean;
      readonly bind?: string;
      readonly bindBefore?: boolean;
    };

function toParam(p: ParamSpec): NixParam {
  if (typeof p === "string") return { kind: "ident", name: p };
  const formals: NixFormal[] = p.formals.map((f) =>
    typeof f === "string" ? { name: f } : { name: f[0], default: toExpr(f[1]) },
  );
  return {
    kind: "set",
    formals,
    ellipsis: p.ellipsis ?? false,
    ...(p.bind === undefined
      ? {}
      : {
          bind: { name: p.bind, position: p.bindBefore ? ("before" as const) : ("after" as const) },
        }),
  };
}

/** `param: body`. */
export function lambda(param: ParamSpec, body: NixValue): NixLambda {
  return node({ kind: "lambda", param: toParam(param), body: toExpr(body) });
}

/** A NixOS module function `{ config, lib, pkgs, ... }: body` (names in the given order). */
export function module(names: readonly string[], body: NixValue): NixLambda {
  return lambda({ formals: names, ellipsis: true }, body);
}

export function op(left: NixValue, o: NixBinaryOp, right: NixValue): NixExpr {
  return node({ kind: "binary", op: o, left: toExpr(left), right: toExpr(right) });
}

export function neg(operand: NixValue): NixExpr {
  return node({ kind: "unary", op: "-", operand: toExpr(operand) });
}

export function not(operand: NixValue): NixExpr {
  return node({ kind: "unary", op: "!", operand: toExpr(operand) });
}

/**
 * Nix source text printed as-is in parentheses. Nothing checks it: use only where the DSL has
 * no construct, never in `lib/` (a test enforces that).
 */
export function rawUnchecked(text: string): NixExpr {
  return node({ kind: "raw", text });
}
