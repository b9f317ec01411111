/**
 * Printed random expressions are fixed points of the real `nixfmt --strict`: run only when
 * `NIXFMT` names a nixfmt 1.4 binary (CI has none: every difference found is kept as a fixed
 * case under cases/). `NIXFMT_RUNS` sets the number of expressions (default 10,000).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printFile } from "../../dsl/index.ts";
import { tempDir } from "../support/temp.ts";
import { nixfmtExprArbitrary, seedOption } from "./support/arbitraries.ts";
import { nixfmtBinary, nixfmtEach } from "./support/nixfmt.ts";

const bin = nixfmtBinary();
const runs = Number(process.env.NIXFMT_RUNS ?? "10000");
const BATCH = 500;

if (bin === undefined) console.log("nixfmt property test skipped: set NIXFMT to a nixfmt binary");

describe.skipIf(bin === undefined)("nixfmt --strict leaves printed expressions unchanged", () => {
  it(`${runs} random expressions`, { timeout: 600_000 }, () => {
    const seed = seedOption().seed ?? Date.now() % 2 ** 31;
    const exprs = fc.sample(nixfmtExprArbitrary(), { numRuns: runs, seed });
    const dir = tempDir("vmflake-nixfmt-");
    const diffs: string[] = [];
    for (let from = 0; from < exprs.length; from += BATCH) {
      const texts = exprs.slice(from, from + BATCH).map((body) => printFile({ body }));
      const outs = nixfmtEach(bin!, dir, texts);
      outs.forEach((out, i) => {
        if (out !== texts[i])
          diffs.push(`#${from + i}:\n--- printed\n${texts[i]}--- nixfmt\n${out}`);
      });
    }
    if (diffs.length > 0) {
      diffs.sort((a, b) => a.length - b.length);
      console.log(diffs.slice(0, 20).join("\n"));
    }
    expect(
      diffs.length,
      `${diffs.length} of ${exprs.length} differ (seed ${seed}, FC_SEED to replay)`,
    ).toBe(0);
  });
});
