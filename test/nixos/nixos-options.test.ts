/**
 * Real NixOS tier: test/fixtures/nixos-options.json against the NixOS options of NIXPKGS — every
 * listed option exists and is declared in the listed file, and every listed nixpkgs module exists.
 * (option-paths.test.ts checks, without nixpkgs, that the emitted modules set only listed options.)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { type Declared, declaringFile, readFixture } from "./option-walk.ts";
import { describeNixpkgs, nixpkgsStorePath, realEval, reportTime } from "./support.ts";

describeNixpkgs("nixos-options.json against the real NixOS options", () => {
  it("every listed option exists in nixpkgs, declared in the listed file", () => {
    const fixture = readFixture();
    const names = [...fixture.options.keys()];
    const modules = [...fixture.nixosModules.values()].map((f) =>
      f.replace(/^nixos\/modules\//, ""),
    );
    const { result, seconds } = realEval<{ options: { [name: string]: Declared } }>({
      scenario: "options",
      optionPaths: names.map((n) => n.split(".")),
      nixosModules: modules,
    });
    reportTime(`option lookup (${names.length} options)`, seconds);
    const wrong: string[] = [];
    for (const name of names) {
      const d = result.options[name]!;
      if (!d.exists) wrong.push(`${name}: does not exist in this nixpkgs`);
      else if (declaringFile(d) !== fixture.options.get(name)) {
        wrong.push(
          `${name}: declared in ${declaringFile(d)}, listed as ${fixture.options.get(name)}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);

  it("every listed nixpkgs module exists", () => {
    for (const file of readFixture().nixosModules.values()) {
      expect(existsSync(join(nixpkgsStorePath(), file)), file).toBe(true);
    }
  }, 600_000);
});
