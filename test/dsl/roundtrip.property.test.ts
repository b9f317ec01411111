/**
 * Property: for random JSON-like data (nested lists and attribute sets, hostile strings and
 * attribute names, int64 as bigint, floats), `printExpr` then `nix-instantiate --eval --strict`
 * gives back exactly the original.
 *
 * Batched: each fast-check run is a batch of 100 values printed as one Nix file and evaluated by
 * one Nix call; 10 runs = 1,000 values. On failure fast-check prints the seed (replay with
 * FC_SEED=<seed>) and shrinks the batch to a minimal one; the error names the first bad index.
 *
 * How values are compared: Nix 2.8's `--json` prints floats with 6 significant digits (C++'s
 * default stream precision), so the exact comparison happens inside Nix: the originals are
 * written to expected.json (ints as integers, floats always with `.` or an exponent) and read
 * with `builtins.fromJSON` (exact: strtod), then compared element by element with a type-strict
 * deep equality (`1` is not `1.0`; floats compare as doubles with `==`). In addition the JSON
 * that Nix prints is compared in TypeScript, exactly for everything but floats (strings, names,
 * ints, structure) and to 6 digits for floats, so the Nix-side comparison is checked too.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import fc from "fast-check";
import { expect, it } from "vitest";
import * as n from "../../dsl/index.ts";
import { describeWith } from "../support/tools.ts";
import { batch, dataToExpr, jsonData, seedOption } from "./support/arbitraries.ts";
import { tempDir } from "../support/temp.ts";
import { NIX_STRICT_EQ, type Json, nixEval, toJsonExact } from "./support/nix.ts";

const BATCH = 100;
const RUNS = 10;

/** Exact for everything but floats, which Nix printed with 6 significant digits. */
function sameAsPrinted(want: Json, got: Json): boolean {
  if (typeof want === "number") {
    const g = typeof got === "bigint" ? Number(got) : got;
    if (typeof g !== "number") return false;
    if (want === 0) return g === 0;
    return Math.abs(g - want) <= 1e-5 * Math.abs(want);
  }
  if (Array.isArray(want)) {
    return (
      Array.isArray(got) &&
      got.length === want.length &&
      want.every((w, i) => sameAsPrinted(w, got[i]!))
    );
  }
  if (want !== null && typeof want === "object") {
    if (got === null || typeof got !== "object" || Array.isArray(got)) return false;
    const wk = Object.keys(want).sort();
    const gk = Object.keys(got).sort();
    return (
      wk.length === gk.length && wk.every((k, i) => k === gk[i] && sameAsPrinted(want[k]!, got[k]!))
    );
  }
  return want === got;
}

/** Evaluate a batch; undefined when all values come back, else a description of the first miss. */
function roundTrip(values: readonly Json[]): string | undefined {
  const dir = tempDir();
  writeFileSync(join(dir, "eq.nix"), `${NIX_STRICT_EQ}\n`);
  writeFileSync(join(dir, "expected.json"), `[${values.map(toJsonExact).join(",")}]`);
  const have = n.v("have");
  const want = n.v("want");
  const i = n.v("i");
  const source = n.printFile({
    comment: ["dsl round trip: printed values against the originals read from JSON"],
    body: n.let_(
      {
        eq: n.call(n.v("import"), n.path("./eq.nix")),
        want: n.builtins.fromJSON(n.builtins.readFile(n.path("./expected.json"))),
        have: n.list(values.map(dataToExpr)),
      },
      {
        ok: n.builtins.genList(
          n.lambda("i", n.call(n.v("eq"), n.builtins.elemAt(want, i), n.builtins.elemAt(have, i))),
          values.length,
        ),
        have,
      },
    ),
  });
  let result: { ok: boolean[]; have: Json[] };
  try {
    result = nixEval(source, { dir }) as { ok: boolean[]; have: Json[] };
  } catch (batchError) {
    // Name the value that Nix rejects.
    for (const [k, v] of values.entries()) {
      const printed = n.printExpr(dataToExpr(v));
      try {
        nixEval(printed, { dir });
      } catch (error) {
        return `Nix rejects value #${k}: ${inspect(v)}\nprinted: ${printed}\n${(error as Error).message}`;
      }
    }
    throw batchError;
  }
  for (let k = 0; k < values.length; k++) {
    const okInNix = result.ok[k] === true;
    const okPrinted = sameAsPrinted(values[k]!, result.have[k]!);
    if (!okInNix || !okPrinted) {
      return [
        `index ${k} of ${values.length}: ${okInNix ? "" : "Nix's strict equality failed"}` +
          `${okPrinted ? "" : " (and the printed JSON differs)"}`,
        `original: ${inspect(values[k], { depth: 10 })}`,
        `printed:  ${n.printExpr(dataToExpr(values[k]!))}`,
        `Nix JSON: ${inspect(result.have[k], { depth: 10 })}`,
      ].join("\n");
    }
  }
  return undefined;
}

describeWith(["nix-instantiate"], "round trip through nix-instantiate --eval", () => {
  it(`${RUNS * BATCH} random values evaluate back to themselves`, () => {
    let checked = 0;
    fc.assert(
      fc.property(batch(jsonData, BATCH), (values) => {
        const miss = roundTrip(values);
        checked += values.length;
        if (miss !== undefined) throw new Error(miss);
      }),
      { numRuns: RUNS, endOnFailure: true, ...seedOption() },
    );
    expect(checked).toBeGreaterThanOrEqual(1000);
  });

  it("the harness notices a wrong value (a float that is really an int, a changed string)", () => {
    // Guard against a comparison that always succeeds: feed it values whose JSON says otherwise.
    const dir = tempDir();
    const got = nixEval(
      `let eq = ${NIX_STRICT_EQ}; want = builtins.fromJSON (builtins.readFile ./e.json); in ` +
        `[ (eq (builtins.elemAt want 0) 1) (eq (builtins.elemAt want 1) "a\\n") (eq (builtins.elemAt want 2) 5.0e-7) ]`,
      { dir, files: { "e.json": `[${toJsonExact(1)},"a\\r\\n",${toJsonExact(5e-7)}]` } },
    );
    expect(got).toEqual([false, false, true]);
    expect(sameAsPrinted({ a: [1n, "x"] }, { a: [1n, "y"] })).toBe(false);
  });
});
