/**
 * `printFile` at another width than 100, for layout cases copied from nixfmt's own tests (which
 * run `nixfmt -w 80`). Same pipeline as dsl/print.ts; a test checks it agrees with printFile
 * at width 100.
 */
import { toExpr } from "../../../dsl/constructors.ts";
import type { NixFile } from "../../../dsl/index.ts";
import { prettyWhole } from "../../../dsl/format.ts";
import { layout } from "../../../dsl/layout.ts";
import { lower } from "../../../dsl/syntax.ts";

export function printFileAt(width: number, file: NixFile): string {
  const head = (file.comment ?? []).map((l) => (l === "" ? "#\n" : `# ${l}\n`)).join("");
  return `${head}${layout(prettyWhole(lower(toExpr(file.body))), width).trim()}\n`;
}
