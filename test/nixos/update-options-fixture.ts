/**
 * Regenerates test/fixtures/nixos-options.json from the emitted flakes of WALKED_FLAKES and a real
 * nixpkgs:
 *
 *   NIXPKGS=/path/to/nixpkgs npx tsx test/nixos/update-options-fixture.ts
 *
 * Every option the emitted modules and the runtime set (guests' own `config` settings excluded:
 * they are the user's) is looked up with the real module system: nixpkgs' options in the NixOS
 * options of that nixpkgs, the runtime's own (`vmflake.*`) in a system importing the runtime
 * module that declares them; the declaring file is recorded. An option that is not declared is
 * reported and nothing is written (exit 1).
 */
import { writeFileSync } from "node:fs";
import {
  FIXTURE,
  declaredBy,
  declaringFile,
  lookupOptions,
  lookupRuntimeOptions,
  runtimeDeclaringFile,
  WALKED_FLAKES,
  walkFlake,
} from "./option-walk.ts";
import { buildFlake, removeBuiltFlakes, reportTime } from "./support.ts";

async function main(): Promise<number> {
  const options = new Set<string>();
  const runtime = new Map<string, Set<string>>();
  const modules = new Set<string>();
  for (const which of Object.values(WALKED_FLAKES)) {
    const { dir } = await buildFlake(which);
    const walked = walkFlake(dir);
    for (const s of walked.set) {
      if (s.fromGuestConfig) continue;
      if (s.runtimeModule !== undefined) {
        const names = runtime.get(s.runtimeModule) ?? new Set<string>();
        names.add(s.option);
        runtime.set(s.runtimeModule, names);
      } else options.add(s.option);
    }
    for (const m of walked.nixpkgsModules) modules.add(m);
  }
  const names = [...options].sort();
  const looked = lookupOptions(names, { nixosModules: [...modules].sort() });
  reportTime(`option lookup (${names.length} options)`, looked.seconds);
  const byModule = new Map([...runtime].map(([m, ns]) => [m, [...ns].sort()] as const));
  const own = lookupRuntimeOptions(byModule);
  reportTime(`runtime option lookup (${Object.keys(own.options).length} options)`, own.seconds);
  const missing = [
    ...names.filter((n) => !looked.options[n]?.exists),
    ...Object.entries(own.options)
      .filter(([, d]) => !d.exists || !declaredBy(d.module, runtimeDeclaringFile(d)))
      .map(([n, d]) => `${n} (not declared by ${d.module})`),
  ];
  if (missing.length > 0) {
    console.error(`Not declared:\n  ${missing.join("\n  ")}`);
    return 1;
  }
  const out: { [key: string]: unknown } = {
    $comment: [
      "Every NixOS option that vmflake's emitted modules and its runtime module set (host module,",
      "guest systems, the flake's check host and installer), with the nixpkgs file that declares",
      "it; `<name>` stands for an attribute name. Checked against nixpkgs 26.11pre (the slim",
      "snapshot, nixos version 26.11.19700101.dirty). $runtimeOptions: the runtime's own options",
      "(modules/vmflake/) that the emitted modules set, with the runtime module declaring each.",
      "test/nixos/option-paths.test.ts fails when an emitted module sets an option not listed",
      "here; regenerate with NIXPKGS=/path/to/nixpkgs npx tsx test/nixos/update-options-fixture.ts.",
    ].join(" "),
    $nixosModules: Object.fromEntries(
      [...modules].sort().map((m) => [`<modulesPath>/${m}`, `nixos/modules/${m}`]),
    ),
    $runtimeOptions: Object.fromEntries(
      Object.keys(own.options)
        .sort()
        .map((n) => [n, own.options[n]!.module]),
    ),
  };
  for (const n of names) out[n] = declaringFile(looked.options[n]!);
  writeFileSync(FIXTURE, `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `wrote ${names.length} nixpkgs options and ${Object.keys(own.options).length} runtime options to ${FIXTURE}`,
  );
  return 0;
}

try {
  process.exitCode = await main();
} finally {
  removeBuiltFlakes();
}
