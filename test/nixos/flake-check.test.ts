/**
 * Real NixOS tier (docs/design.md §7.1 step 3): `nix flake check --no-build` of each emitted flake with
 * its nixpkgs input replaced by the real nixpkgs of NIXPKGS. Nix 2.8's flake check evaluates every
 * nixosConfigurations.*.config.system.build.toplevel, the checks (which evaluate a minimal host
 * importing each nixosModules.<host>) and the form of nixosModules.*.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type BuiltFlake,
  buildFlake,
  removeBuiltFlakes,
  describeNixpkgs,
  fullModuleListNixpkgs,
  reportTime,
  runNix,
} from "./support.ts";

afterAll(removeBuiltFlakes);

describeNixpkgs("nix flake check --no-build against the real nixpkgs", () => {
  const flakes: { [which: string]: BuiltFlake } = {};

  beforeAll(async () => {
    flakes.example = await buildFlake("example");
    flakes.rich = await buildFlake("rich");
  }, 600_000);

  for (const which of ["example", "rich"] as const) {
    it(`passes for the ${which} flake (a path: flake in a temp dir, no git, no lock file written)`, () => {
      const { dir } = flakes[which]!;
      expect(existsSync(join(dir, ".git"))).toBe(false);
      const r = runNix("nix", [
        "flake",
        "check",
        "--no-build",
        "--no-write-lock-file",
        "--override-input",
        "nixpkgs",
        fullModuleListNixpkgs(),
        `path:${dir}`,
      ]);
      reportTime(`nix flake check --no-build (${which} flake)`, r.seconds);
      expect(r.stderr, "nix flake check failed").not.toMatch(/^error:/m);
      expect(r.status).toBe(0);
      expect(existsSync(join(dir, "flake.lock"))).toBe(false);
    }, 600_000);
  }
});
