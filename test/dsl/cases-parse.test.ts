/**
 * Every expected.nix of the layout cases (`cases/`, `nixfmt-cases/`) parses with real Nix, and
 * means the same as the case's input: its parse equals the parse of the input printed fully
 * parenthesised (test/dsl/support/parenthesised.ts). Two Nix calls for all cases. Free
 * variables are allowed: each file is read under `with { };`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { NixFile } from "../../dsl/index.ts";
import { describeWith } from "../support/tools.ts";
import { tempDir } from "../support/temp.ts";
import { nixParseFiles } from "./support/nix.ts";
import { normaliseParse } from "./support/parse-normalise.ts";
import { full } from "./support/parenthesised.ts";

const dirs = ["cases", "nixfmt-cases"].map((d) => join(import.meta.dirname, d));
const cases = dirs.flatMap((d) => readdirSync(d).map((name) => ({ name, dir: join(d, name) })));

describeWith(["nix-instantiate"], "layout cases parse with Nix", () => {
  it(`all ${cases.length} expected.nix files parse, as their inputs`, async () => {
    const expected = cases.map((c) => readFileSync(join(c.dir, "expected.nix"), "utf8"));
    const inputs = await Promise.all(
      cases.map(
        async (c) => ((await import(join(c.dir, "input.ts"))) as { default: NixFile }).default,
      ),
    );
    const dir = tempDir();
    const parsedExpected = nixParseFiles(
      expected.map((text) => `with { };\n${text}`),
      dir,
    );
    const parsedInput = nixParseFiles(
      inputs.map((file) => `with { };\n${full(file.body)}\n`),
      dir,
    );
    const bad = cases
      .map((c, i) => ({
        name: c.name,
        a: normaliseParse(parsedExpected[i]!),
        b: normaliseParse(parsedInput[i]!),
      }))
      .filter((x) => x.a !== x.b)
      .map((x) => `${x.name}:\n  expected.nix: ${x.a}\n  input:        ${x.b}`);
    expect(bad.join("\n")).toBe("");
  });
});
