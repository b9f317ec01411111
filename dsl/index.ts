/**
 * `vmflake/dsl`: build Nix expressions as typed values and print them as canonical Nix
 * (RFC 166, a fixed point of `nixfmt --strict`).
 *
 * @example
 * ```ts
 * import * as n from "vmflake/dsl";
 * n.printFile({ body: n.module(["pkgs"], { environment: { systemPackages: [n.pkgs.hello] } }) });
 * ```
 */
export type * from "./ast.ts";
export { NixDslError } from "./errors.ts";
export {
  type NixRef,
  type NixValue,
  type ParamSpec,
  assert_,
  attrs,
  bind,
  builtins,
  call,
  concat,
  config,
  float,
  has,
  if_,
  inherit,
  int,
  isExpr,
  lambda,
  let_,
  lib,
  list,
  module,
  neg,
  nix,
  not,
  op,
  path,
  pkgs,
  rawUnchecked,
  rec,
  ref,
  select,
  selectOr,
  str,
  toExpr,
  v,
  with_,
} from "./constructors.ts";
export { printExpr, printFile } from "./print.ts";
export { formatAttrName, isIdentifier } from "./lexical.ts";
export { freeVariables } from "./names.ts";
