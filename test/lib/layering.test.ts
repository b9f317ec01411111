/**
 * Layers (docs/design.md §3), checked: lib/ builds Nix only through dsl/ constructors (never the
 * raw escape hatch), neither dsl/ nor lib/ touches the file system, and the runtime's Nix and
 * shell files live in lib/runtime/nixos/ only (§3.4).
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/build-cli.ts";

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const f = join(dir, e);
    if (statSync(f).isDirectory()) out.push(...sources(f));
    else if (f.endsWith(".ts")) out.push(f);
  }
  return out;
}

describe("layers", () => {
  const lib = sources(join(REPO_ROOT, "lib"));
  const dsl = sources(join(REPO_ROOT, "dsl"));

  it("lib/ never uses the raw Nix escape hatch", () => {
    const users = lib.filter((f) => /rawUnchecked|kind:\s*"raw"/.test(readFileSync(f, "utf8")));
    expect(users.map((f) => relative(REPO_ROOT, f))).toEqual([]);
  });

  it("dsl/ and lib/ do not read or write files", () => {
    const fsUsers = [...lib, ...dsl].filter((f) =>
      /from "node:fs"|from "fs"/.test(readFileSync(f, "utf8")),
    );
    expect(fsUsers.map((f) => relative(REPO_ROOT, f))).toEqual([]);
  });

  it("the runtime's .nix and .sh files are in lib/runtime/nixos/ only, with no TypeScript there", () => {
    const files = readdirSync(join(REPO_ROOT, "lib"), { recursive: true, encoding: "utf8" });
    const runtime = join("runtime", "nixos");
    expect(files.filter((f) => /\.(nix|sh)$/.test(f) && !f.startsWith(runtime))).toEqual([]);
    expect(files.filter((f) => f.startsWith(runtime) && f.endsWith(".ts"))).toEqual([]);
    expect(files.filter((f) => f.startsWith(runtime) && f.endsWith(".nix")).length).toBeGreaterThan(
      0,
    );
  });

  it("dsl/ knows nothing of the domain", () => {
    const domain = dsl.filter((f) => /from "\.\.\/lib\//.test(readFileSync(f, "utf8")));
    expect(domain).toEqual([]);
  });
});
