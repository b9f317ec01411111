/**
 * Batched oracles over real Nix: many DSL expressions go into one `nix-instantiate` call, and the
 * result is split back per expression, so a failure names the expression that caused it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as n from "../../../dsl/index.ts";
import type { NixExpr } from "../../../dsl/index.ts";
import { tempDir } from "../../support/temp.ts";
import { type Json, nixEval, nixParse } from "./nix.ts";
import { normaliseParse } from "./parse-normalise.ts";
import { full } from "./parenthesised.ts";

/** A marker string that no generated expression contains. */
const marker = (i: number): string => `\u2042MARK${i}\u2042`;

export interface ParseMismatch {
  readonly index: number;
  readonly printed: string;
  readonly parenthesised: string;
  readonly printedParse: string;
  readonly parenthesisedParse: string;
}

function splitByMarkers(parse: string, count: number): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (let i = 0; i <= count; i++) {
    const m = i < count ? `("${marker(i)}")` : null;
    const at = m === null ? parse.length : parse.indexOf(m, from);
    if (at < 0) throw new Error(`marker ${i} not found in --parse output`);
    pieces.push(parse.slice(from, at));
    from = at + (m?.length ?? 0);
  }
  return pieces.slice(1);
}

/** Parse the batch; if Nix rejects it, find and name the first expression it rejects. */
function parseOrExplain(
  exprs: readonly NixExpr[],
  source: string,
  dir: string,
  render: (e: NixExpr) => string,
): string {
  try {
    return nixParse(source, { dir });
  } catch (batchError) {
    for (const [i, e] of exprs.entries()) {
      const text = render(e);
      try {
        nixParse(`with { };\n[\n(${text}\n)\n]\n`, { dir });
      } catch (error) {
        throw new Error(`Nix rejects expression #${i}:\n${text}\n${(error as Error).message}`);
      }
    }
    throw batchError;
  }
}

/**
 * `nix-instantiate --parse` of `printExpr(e)` and of the fully parenthesised rendering, for
 * every `e`, in two calls. Free variables are allowed (everything sits under `with { };`).
 * Returns the expressions whose parses differ (after {@link normaliseParse}).
 */
export function parseMismatches(exprs: readonly NixExpr[]): ParseMismatch[] {
  const items: NixExpr[] = [];
  exprs.forEach((e, i) => items.push(n.str(marker(i)), e));
  const whole = n.with_(n.attrs({}), n.list(items));
  // One directory for both, so relative paths resolve to the same absolute paths.
  const dir = tempDir();
  const rawPrinted = parseOrExplain(exprs, n.printExpr(whole), dir, n.printExpr);
  const rawFull = parseOrExplain(exprs, full(whole), dir, full);
  const printedParse = normaliseParse(rawPrinted);
  const fullParse = normaliseParse(rawFull);
  // To debug the oracle itself: DSL_PARSE_DUMP=<dir> keeps the raw outputs of a mismatch.
  const dump = process.env.DSL_PARSE_DUMP;
  if (dump !== undefined && printedParse !== fullParse) {
    writeFileSync(join(dump, "printed.parse"), rawPrinted);
    writeFileSync(join(dump, "parenthesised.parse"), rawFull);
  }
  if (printedParse === fullParse) return [];
  const a = splitByMarkers(printedParse, exprs.length);
  const b = splitByMarkers(fullParse, exprs.length);
  const out: ParseMismatch[] = [];
  exprs.forEach((e, i) => {
    if (a[i] !== b[i]) {
      out.push({
        index: i,
        printed: n.printExpr(e),
        parenthesised: full(e),
        printedParse: a[i]!,
        parenthesisedParse: b[i]!,
      });
    }
  });
  if (out.length === 0) throw new Error("parses differ but no single expression differs");
  return out;
}

/** Evaluate a list of expressions in one call (each under `with scope;` when given). */
export function evalAll(exprs: readonly NixExpr[], scope?: NixExpr): Json[] {
  const body = n.list(exprs);
  const v = nixEval(
    n.printExpr(scope === undefined ? body : n.let_({ scope }, n.with_(n.v("scope"), body))),
  );
  if (!Array.isArray(v)) throw new Error("expected a list");
  return v;
}

/** Format mismatches for an assertion message. */
export function describeMismatches(ms: readonly ParseMismatch[], limit = 5): string {
  return ms
    .slice(0, limit)
    .map(
      (m) =>
        `#${m.index}\n  printed:        ${m.printed.replace(/\n/g, "\n                  ")}\n` +
        `  parenthesised:  ${m.parenthesised}\n  parse(printed): ${m.printedParse}\n` +
        `  parse(parens):  ${m.parenthesisedParse}`,
    )
    .join("\n");
}
