/**
 * Regenerates test/fixtures/nixos-options.json from the emitted example and rich flakes and a real
 * nixpkgs:
 *
 *   NIXPKGS=/path/to/nixpkgs npx tsx test/nixos/update-options-fixture.ts
 *
 * Every option the emitted modules set (guests' own `config` settings excluded: they are the
 * user's) is looked up in the NixOS options of that nixpkgs; the declaring file is recorded. An
 * option that nixpkgs does not declare is reported and nothing is written (exit 1).
 */
import { writeFileSync } from "node:fs";
import { type Declared, FIXTURE, declaringFile, walkFlake } from "./option-walk.ts";
import { buildFlake, realEval, removeBuiltFlakes, reportTime } from "./support.ts";

async function main(): Promise<number> {
  const options = new Set<string>();
  const modules = new Set<string>();
  for (const which of ["example", "rich"] as const) {
    const { dir } = await buildFlake(which);
    const walked = walkFlake(dir);
    for (const s of walked.set) if (!s.fromGuestConfig) options.add(s.option);
    for (const m of walked.nixpkgsModules) modules.add(m);
  }
  const names = [...options].sort();
  const { result, seconds } = realEval<{ options: { [name: string]: Declared } }>({
    scenario: "options",
    optionPaths: names.map((n) => n.split(".")),
    nixosModules: [...modules].sort(),
  });
  reportTime(`option lookup (${names.length} options)`, seconds);
  const missing = names.filter((n) => !result.options[n]?.exists);
  if (missing.length > 0) {
    console.error(`Not declared by this nixpkgs:\n  ${missing.join("\n  ")}`);
    return 1;
  }
  const out: { [key: string]: unknown } = {
    $comment: [
      "Every NixOS option that vmflake's emitted modules set (host module, guest systems, the",
      "flake's check host and installer), with the nixpkgs file that declares it; `<name>` stands",
      "for an attribute name. Checked against nixpkgs 26.11pre (the slim snapshot, nixos version",
      "26.11.19700101.dirty). test/nixos/option-paths.test.ts fails when an emitted module sets",
      "an option not listed here; regenerate with",
      "NIXPKGS=/path/to/nixpkgs npx tsx test/nixos/update-options-fixture.ts.",
    ].join(" "),
    $nixosModules: Object.fromEntries(
      [...modules].sort().map((m) => [`<modulesPath>/${m}`, `nixos/modules/${m}`]),
    ),
  };
  for (const n of names) out[n] = declaringFile(result.options[n]!);
  writeFileSync(FIXTURE, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${names.length} options to ${FIXTURE}`);
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  removeBuiltFlakes();
}
