/**
 * Runs the native TypeScript compiler on the type-level tests: with the `@ts-expect-error` lines
 * each file compiles; without them, each marked statement fails, and for the reason named in its
 * comment (`[field]` must appear in the error).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTsc, tscArgs } from "../../cli/typecheck.ts";
import { generateTypes } from "../../cli/types/emit-types.ts";
import type { OptionData } from "../../cli/types/option-data.ts";
import { REPO_ROOT } from "../support/build-cli.ts";
import { tempDir } from "../support/temp.ts";
import { OPTION_TYPES_FIXTURE } from "./update-option-types-fixture.ts";

/** The NixOS option types generated from the checked-in options fixture, as a file. */
function fixtureTypes(): string {
  const data = JSON.parse(readFileSync(OPTION_TYPES_FIXTURE, "utf8")) as OptionData;
  const file = join(tempDir("vmflake-types-"), "nixos-options.d.ts");
  writeFileSync(file, generateTypes(data).text);
  return file;
}

/** Each file of type-level tests, with the fewest marked mistakes it must hold. */
const FILES = [
  { what: "types reject common mistakes", file: "define-hosts.types.ts", atLeast: 15, extra: [] },
  {
    what: "field lists follow the spec types",
    file: "field-lists.types.ts",
    atLeast: 3,
    extra: [],
  },
  {
    what: "generated NixOS option types check a guest's config",
    file: "nixos/guest-config.types.ts",
    atLeast: 15,
    extra: [fixtureTypes()],
  },
];
const TSC = findTsc();

function tsc(file: string, extra: readonly string[]): string[] {
  const r = spawnSync(process.execPath, [TSC, ...tscArgs(file, extra)], {
    encoding: "utf8",
    cwd: REPO_ROOT,
  });
  // One entry per diagnostic, with its indented continuation lines.
  return `${r.stdout}${r.stderr}`.split(/\n(?! )/).filter((l) => /error TS\d+/.test(l));
}

describe.each(FILES)("$what", ({ file, atLeast, extra }) => {
  const path = join(import.meta.dirname, file);
  const source = readFileSync(path, "utf8");
  const cases = [...source.matchAll(/\[(.+)\]\n\/\/ @ts-expect-error\n(.*)\n/g)];

  it("the file compiles: every marked mistake is an error", () => {
    expect(cases.length).toBeGreaterThanOrEqual(atLeast);
    expect(tsc(path, extra)).toEqual([]);
  });

  it("without the markers each mistake fails, on its own line, for its reason", () => {
    // Keep the file in place (relative imports), as a sibling copy.
    const copy = join(
      import.meta.dirname,
      file.replace(/[^/]+$/, (f) => `.unmarked.${f}`),
    );
    writeFileSync(copy, source.replaceAll("// @ts-expect-error\n", "\n"));
    try {
      const errors = tsc(copy, extra);
      const lines = source.replaceAll("// @ts-expect-error\n", "\n").split("\n");
      for (const [, field, statement] of cases) {
        const line = lines.indexOf(statement!) + 1;
        const mine = errors.filter((e) => e.includes(`(${line},`));
        expect(mine.length, `line ${line}: ${statement}`).toBeGreaterThan(0);
        expect(mine.join("\n"), `line ${line}`).toContain(field);
      }
    } finally {
      spawnSync("rm", ["-f", copy]);
    }
  });
});
