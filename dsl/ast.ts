/**
 * The Nix expression language as data. Every node is immutable and carries a `kind`.
 * Build nodes with the constructors in `constructors.ts`; print them with `print.ts`.
 * The printer decides parentheses and string forms, so the tree never holds source text
 * (except in the explicitly named {@link NixRawUnchecked} escape hatch).
 */

/** `null`, `true`, `false` are ordinary variables in Nix, but we keep them as literals. */
export interface NixNull {
  readonly kind: "null";
}
export interface NixBool {
  readonly kind: "bool";
  readonly value: boolean;
}
/** A 64-bit signed integer (Nix's only integer type). */
export interface NixInt {
  readonly kind: "int";
  readonly value: bigint;
}
/** A finite IEEE double; printed so that it always reads back as a float. */
export interface NixFloat {
  readonly kind: "float";
  readonly value: number;
}
/**
 * A string with interpolations: text parts are literal text (escaped by the printer),
 * expression parts become `${…}`. The printer picks `"…"` or `''…''`.
 */
export interface NixString {
  readonly kind: "string";
  readonly parts: readonly (string | NixExpr)[];
}
/** A path literal such as `./modules/host.nix` or `/etc/hosts`. */
export interface NixPath {
  readonly kind: "path";
  readonly value: string;
}
/** A variable reference. */
export interface NixVar {
  readonly kind: "var";
  readonly name: string;
}
export interface NixList {
  readonly kind: "list";
  readonly items: readonly NixExpr[];
}
/** One segment of an attribute path: a static name or a dynamic `${expr}`. */
export type NixAttrKey = string | NixExpr;

/** `a.b.c = value;` with optional comment lines printed above it. */
export interface NixAttrBinding {
  readonly kind: "binding";
  readonly path: readonly NixAttrKey[];
  readonly value: NixExpr;
  readonly comment?: readonly string[];
}
/** `inherit a b;` or `inherit (from) a b;`. */
export interface NixInherit {
  readonly kind: "inherit";
  readonly from?: NixExpr;
  readonly names: readonly string[];
  readonly comment?: readonly string[];
}
export type NixBinding = NixAttrBinding | NixInherit;

export interface NixAttrs {
  readonly kind: "attrs";
  readonly rec: boolean;
  readonly bindings: readonly NixBinding[];
}
export interface NixLet {
  readonly kind: "let";
  readonly bindings: readonly NixBinding[];
  readonly body: NixExpr;
}
export interface NixWith {
  readonly kind: "with";
  readonly scope: NixExpr;
  readonly body: NixExpr;
}
export interface NixAssert {
  readonly kind: "assert";
  readonly cond: NixExpr;
  readonly body: NixExpr;
}
export interface NixIf {
  readonly kind: "if";
  readonly cond: NixExpr;
  readonly then: NixExpr;
  readonly else: NixExpr;
}

/** One formal of a set pattern: `name` or `name ? default`. */
export interface NixFormal {
  readonly name: string;
  readonly default?: NixExpr;
}
/** `x:` */
export interface NixIdentParam {
  readonly kind: "ident";
  readonly name: string;
}
/** `{ a, b ? 1, ... }:` optionally bound with `@name` (after the set, or before it). */
export interface NixSetParam {
  readonly kind: "set";
  readonly formals: readonly NixFormal[];
  readonly ellipsis: boolean;
  readonly bind?: { readonly name: string; readonly position: "before" | "after" };
}
export type NixParam = NixIdentParam | NixSetParam;

export interface NixLambda {
  readonly kind: "lambda";
  readonly param: NixParam;
  readonly body: NixExpr;
}
/** `fn arg1 arg2 …` (application is left-associative; kept n-ary for convenience). */
export interface NixApply {
  readonly kind: "apply";
  readonly fn: NixExpr;
  readonly args: readonly NixExpr[];
}
/** `base.a.b` or `base.a.b or default`. */
export interface NixSelect {
  readonly kind: "select";
  readonly base: NixExpr;
  readonly path: readonly NixAttrKey[];
  readonly or?: NixExpr;
}
/** `expr ? a.b` */
export interface NixHasAttr {
  readonly kind: "has";
  readonly base: NixExpr;
  readonly path: readonly NixAttrKey[];
}
export type NixUnaryOp = "-" | "!";
export interface NixUnary {
  readonly kind: "unary";
  readonly op: NixUnaryOp;
  readonly operand: NixExpr;
}
/** Binary operators of Nix (the experimental pipe operators are deliberately absent). */
export type NixBinaryOp =
  "++" | "*" | "/" | "+" | "-" | "//" | "<" | "<=" | ">" | ">=" | "==" | "!=" | "&&" | "||" | "->";
export interface NixBinary {
  readonly kind: "binary";
  readonly op: NixBinaryOp;
  readonly left: NixExpr;
  readonly right: NixExpr;
}
/**
 * Nix source text that the printer emits verbatim, wrapped in parentheses. Unchecked by
 * definition: nothing in `lib/` may use it (a test enforces that).
 */
export interface NixRawUnchecked {
  readonly kind: "raw";
  readonly text: string;
}

export type NixExpr =
  | NixNull
  | NixBool
  | NixInt
  | NixFloat
  | NixString
  | NixPath
  | NixVar
  | NixList
  | NixAttrs
  | NixLet
  | NixWith
  | NixAssert
  | NixIf
  | NixLambda
  | NixApply
  | NixSelect
  | NixHasAttr
  | NixUnary
  | NixBinary
  | NixRawUnchecked;

/** A whole `.nix` file: optional comment lines at the top, then one expression. */
export interface NixFile {
  readonly comment?: readonly string[];
  readonly body: NixExpr;
}
