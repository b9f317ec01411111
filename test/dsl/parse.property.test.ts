/**
 * Property: for random expressions of every kind (operators, application, selection with `or`,
 * `?`, negation, `!`, lambdas with set patterns, let, with, if, assert, lists, attribute sets,
 * interpolated strings), `nix-instantiate --parse` of `printExpr(e)` equals `--parse` of a
 * naive rendering that parenthesises every subexpression (test/dsl/support/parenthesised.ts):
 * the printer's parentheses, spacing and layout never change what Nix reads.
 *
 * Batched: each fast-check run is a batch of 100 expressions in one list, parsed by two Nix calls
 * (printed and parenthesised); 10 runs = 1,000 expressions. On failure fast-check prints the seed
 * (replay with FC_SEED=<seed>) and shrinks the batch; the error shows both parses.
 *
 * A second property, without Nix: printing is deterministic, for the same tree and for a
 * structurally equal tree built separately.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as n from "../../dsl/index.ts";
import { describeWith } from "../support/tools.ts";
import { batch, exprArbitrary, rebuild, seedOption } from "./support/arbitraries.ts";
import { describeMismatches, parseMismatches } from "./support/oracle.ts";

const BATCH = 100;
const RUNS = 10;

describeWith(["nix-instantiate"], "printed expressions parse as their parenthesised form", () => {
  it(`${RUNS * BATCH} random expressions`, () => {
    let checked = 0;
    fc.assert(
      fc.property(batch(exprArbitrary(), BATCH), (exprs) => {
        const bad = parseMismatches(exprs);
        checked += exprs.length;
        if (bad.length > 0) throw new Error(`${bad.length} differ:\n${describeMismatches(bad, 3)}`);
      }),
      { numRuns: RUNS, endOnFailure: true, ...seedOption() },
    );
    expect(checked).toBeGreaterThanOrEqual(1000);
  });
});

describe("printing is deterministic", () => {
  it("same tree twice, and a separately built equal tree, give the same text", () => {
    fc.assert(
      fc.property(exprArbitrary(), (e) => {
        const once = n.printExpr(e);
        expect(n.printExpr(e)).toBe(once);
        expect(n.printExpr(rebuild(e))).toBe(once);
        expect(n.printFile({ body: rebuild(e) })).toBe(`${once}\n`);
      }),
      { numRuns: 1000, ...seedOption() },
    );
  });
});
