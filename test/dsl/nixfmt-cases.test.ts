/**
 * Layout cases whose expected output is nixfmt's own: each `nixfmt-cases/<name>/expected.nix`
 * is copied from nixfmt 1.4.0's test suite (`test/diff/<name>/out-pure.nix`, printed by
 * `nixfmt --strict -w 80`), keeping the items that the DSL can express (no comments, no
 * redundant parentheses); `input.ts` rebuilds them with the DSL. Printed at width 80.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type NixFile, printFile } from "../../dsl/index.ts";
import { printFileAt } from "./support/print-width.ts";

const root = join(import.meta.dirname, "nixfmt-cases");

describe("layout cases from nixfmt's own tests (width 80)", () => {
  for (const name of readdirSync(root).sort()) {
    it(name, async () => {
      const mod = (await import(join(root, name, "input.ts"))) as { default: NixFile };
      const expected = readFileSync(join(root, name, "expected.nix"), "utf8");
      expect(printFileAt(80, mod.default)).toBe(expected);
      // The width-80 printer is printFile's pipeline.
      expect(printFileAt(100, mod.default)).toBe(printFile(mod.default));
    });
  }
});
