/**
 * Regenerates test/fixtures/nixos-option-types.json: the walk of `vmflake types` over a real
 * nixpkgs' NixOS with test/fixtures/nixos-option-types.nix added, kept to the option sets the
 * type tests use (every type constructor under `fixture`, nginx-like virtual hosts, and the real
 * openssh, users, firewall and systemd services options):
 *
 *   NIXPKGS=/path/to/nixpkgs npx tsx test/types/update-option-types-fixture.ts
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { format } from "prettier";
import type { OptionData } from "../../cli/types/option-data.ts";
import { walkOptions } from "../../cli/types/walk-options.ts";

export const OPTION_TYPES_FIXTURE = join(
  import.meta.dirname,
  "..",
  "fixtures",
  "nixos-option-types.json",
);
const MODULE = join(import.meta.dirname, "..", "fixtures", "nixos-option-types.nix");

/** The option sets kept in the fixture. */
export const FIXTURE_ROOTS: readonly (readonly string[])[] = [
  ["fixture"],
  ["services", "nginx"],
  ["services", "openssh"],
  ["users", "users"],
  ["networking", "firewall"],
  ["systemd", "services"],
];

async function main(): Promise<number> {
  const nixpkgs = process.env.NIXPKGS;
  if (!nixpkgs) {
    console.error("set NIXPKGS=/path/to/nixpkgs");
    return 2;
  }
  const walked = walkOptions({ nixpkgs, extraModules: [MODULE] }, FIXTURE_ROOTS);
  const data: OptionData = {
    source: {
      release: walked.release,
      narHash: null,
      from: "the test fixture test/fixtures/nixos-option-types.nix with NixOS modules",
    },
    options: walked.options,
  };
  // As the repository's formatter writes JSON, so the format check passes.
  const text = await format(JSON.stringify(data), { parser: "json" });
  writeFileSync(OPTION_TYPES_FIXTURE, text);
  console.log(`wrote ${OPTION_TYPES_FIXTURE} (${walked.report.evaluations} evaluations)`);
  return 0;
}

if (import.meta.filename === process.argv[1]) process.exitCode = await main();
