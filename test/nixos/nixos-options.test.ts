/**
 * Real NixOS tier: test/fixtures/nixos-options.json against the NixOS options of NIXPKGS — every
 * listed option exists and is declared in the listed file, every listed nixpkgs module exists,
 * and every listed runtime option exists in a system importing the runtime module it is listed
 * with (lib/runtime/nixos/, which the build copies to modules/vmflake/), declared there.
 * (option-paths.test.ts checks, without nixpkgs, that the emitted modules set only listed options.)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import {
  declaredBy,
  declaringFile,
  lookupOptions,
  lookupRuntimeOptions,
  readFixture,
  runtimeDeclaringFile,
} from "./option-walk.ts";
import { describeNixpkgs, nixpkgsStorePath, reportTime } from "./support.ts";

describeNixpkgs("nixos-options.json against the real NixOS options", () => {
  it("every listed option exists in nixpkgs, declared in the listed file", () => {
    const fixture = readFixture();
    const names = [...fixture.options.keys()];
    const modules = [...fixture.nixosModules.values()].map((f) =>
      f.replace(/^nixos\/modules\//, ""),
    );
    const { options, seconds } = lookupOptions(names, { nixosModules: modules });
    reportTime(`option lookup (${names.length} options)`, seconds);
    const wrong: string[] = [];
    for (const name of names) {
      const d = options[name]!;
      if (!d.exists) wrong.push(`${name}: does not exist in this nixpkgs`);
      else if (declaringFile(d) !== fixture.options.get(name)) {
        wrong.push(
          `${name}: declared in ${declaringFile(d)}, listed as ${fixture.options.get(name)}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  }, 600_000);

  it("every listed runtime option exists, declared by the runtime module it is listed with", () => {
    const fixture = readFixture();
    const byModule = new Map<string, string[]>();
    for (const [name, module] of fixture.runtimeOptions) {
      byModule.set(module, [...(byModule.get(module) ?? []), name]);
    }
    expect([...byModule.keys()].sort()).toEqual([
      "modules/vmflake/default.nix",
      "modules/vmflake/installer.nix",
    ]);
    const { options, seconds } = lookupRuntimeOptions(byModule);
    reportTime(`runtime option lookup (${fixture.runtimeOptions.size} options)`, seconds);
    const wrong: string[] = [];
    for (const [name, module] of fixture.runtimeOptions) {
      const d = options[name]!;
      if (!d.exists) wrong.push(`${name}: ${module} does not declare it`);
      else if (!declaredBy(module, runtimeDeclaringFile(d))) {
        wrong.push(
          `${name}: declared in ${runtimeDeclaringFile(d)}, listed as ${module} (which neither declares nor imports it)`,
        );
      }
    }
    expect(wrong).toEqual([]);
    // None of them is a nixpkgs option.
    expect([...fixture.runtimeOptions.keys()].filter((n) => fixture.options.has(n))).toEqual([]);
  }, 600_000);

  it("every listed nixpkgs module exists", () => {
    for (const file of readFixture().nixosModules.values()) {
      expect(existsSync(join(nixpkgsStorePath(), file)), file).toBe(true);
    }
  }, 600_000);
});
