/** A guest's own NixOS settings: plain values or DSL expressions, every one with a Nix form. */
import { NixDslError, type NixValue, printExpr } from "../../dsl/index.ts";
import { isPlainObject } from "../fields.ts";
import { type Problems, joinPath, show } from "../problems.ts";

/**
 * Reports every value in a guest's own settings that has no Nix form (NaN, a function, a NUL
 * byte …) at its path; true when there is none.
 */
export function configProblems(p: Problems, value: unknown, path: string): boolean {
  if (isPlainObject(value)) {
    let ok = true;
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\0")) {
        p.add(path, `the name ${show(k)} holds a NUL byte, which Nix names cannot`);
        ok = false;
      }
      if (v !== undefined) ok = configProblems(p, v, joinPath(path, k)) && ok;
    }
    return ok;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => configProblems(p, v, joinPath(path, i))).every(Boolean);
  }
  try {
    printExpr(value as NixValue);
    return true;
  } catch (e) {
    if (!(e instanceof NixDslError)) throw e;
    p.add(path, `${e.message}; give a plain value or a vmflake/dsl expression`);
    return false;
  }
}
