/**
 * Data-driven layout cases, in the shape of nixfmt's own tests: each folder under `cases/` holds
 * `input.ts` (a default-exported NixFile built with dsl/) and `expected.nix`. The
 * `canonical-*` cases are files printed by nixfmt 1.4.0 `--strict` itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printFile, type NixFile } from "../../dsl/index.ts";

const root = join(import.meta.dirname, "cases");

describe("layout cases", () => {
  for (const name of readdirSync(root).sort()) {
    it(name, async () => {
      const mod = (await import(join(root, name, "input.ts"))) as { default: NixFile };
      const expected = readFileSync(join(root, name, "expected.nix"), "utf8");
      expect(printFile(mod.default)).toBe(expected);
    });
  }
});
