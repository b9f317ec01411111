/**
 * Printing: AST → concrete syntax → layout document → text. The result parses with Nix, means
 * exactly the AST, and is a fixed point of `nixfmt --strict` (width 100, indent 2).
 */
import type { NixExpr, NixFile } from "./ast.ts";
import { toExpr, type NixValue } from "./constructors.ts";
import { NixDslError } from "./errors.ts";
import { prettyWhole } from "./format.ts";
import { layout } from "./layout.ts";
import { lower } from "./syntax.ts";

/** Print one expression as canonical Nix source (no trailing newline). */
export function printExpr(value: NixValue): string {
  const e: NixExpr = toExpr(value);
  return layout(prettyWhole(lower(e))).trim();
}

/** Print a whole file: top comment lines, the expression, one final newline. */
export function printFile(file: NixFile): string {
  const head = (file.comment ?? []).map((line) => {
    if (/[\r\n\0]/.test(line)) throw new NixDslError("a comment line cannot contain a line break");
    return line === "" ? "#\n" : `# ${line}\n`;
  });
  return `${head.join("")}${printExpr(file.body)}\n`;
}
