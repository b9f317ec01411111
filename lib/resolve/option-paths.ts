/**
 * The option names a guest's `config` sets, checked against the NixOS options of the nixpkgs in
 * use (the data `vmflake types` writes): an unknown name is reported with the closest known
 * one, a renamed option with its new name. The same data as the generated types, so a build
 * with `--no-typecheck` catches the same misspelt names.
 */
import { isExpr } from "../../dsl/index.ts";
import { closest, isPlainObject } from "../fields.ts";
import type { OptionNames } from "../nixos-config.ts";
import { type Problems, joinPath } from "../problems.ts";

/** Reports every option name in `config` (at `path`) that `names` does not know. */
export function optionPathProblems(
  p: Problems,
  config: unknown,
  path: string,
  names: OptionNames,
  option: readonly string[] = [],
): void {
  // A computed value (an expression) is Nix's to check.
  if (!isPlainObject(config) || isExpr(config)) return;
  const known = Object.keys(names).filter((k) => k !== "<name>" && k !== "*");
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    const at = joinPath(path, key);
    // Named entries (`users.users.dan`) are spelt as the NixOS manual does: `<name>`.
    const named = names[key] === undefined && names["<name>"] !== undefined;
    const here = [...option, named ? "<name>" : key];
    const entry = named ? names["<name>"] : names[key];
    if (entry === undefined) {
      if (names["*"] !== undefined) continue;
      const near = closest(key, known);
      p.add(
        at,
        `no NixOS option ${here.join(".")}${near === undefined ? "" : `; did you mean "${near}"?`}`,
      );
    } else if (typeof entry === "string") {
      p.add(
        at,
        entry === "!"
          ? `the NixOS option ${here.join(".")} was removed`
          : `the NixOS option ${here.join(".")} was renamed to ${entry.slice(1)}; set that instead`,
      );
    } else if (entry !== 1) {
      optionPathProblems(p, value, at, entry, here);
    }
  }
}
