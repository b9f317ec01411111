/**
 * Runs the native TypeScript compiler on the type-level tests: with the `@ts-expect-error` lines
 * the file compiles; without them, each marked statement fails, and for the reason named in its
 * comment (`[field]` must appear in the error).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTsc, tscArgs } from "../../cli/typecheck.ts";
import { REPO_ROOT } from "../support/build-cli.ts";

const SOURCE = join(import.meta.dirname, "define-hosts.types.ts");
const TSC = findTsc();

function tsc(file: string): string[] {
  const r = spawnSync(process.execPath, [TSC, ...tscArgs(file)], {
    encoding: "utf8",
    cwd: REPO_ROOT,
  });
  // One entry per diagnostic, with its indented continuation lines.
  return `${r.stdout}${r.stderr}`.split(/\n(?! )/).filter((l) => /error TS\d+/.test(l));
}

describe("types reject common mistakes", () => {
  const source = readFileSync(SOURCE, "utf8");
  const cases = [...source.matchAll(/\[(.+)\]\n\/\/ @ts-expect-error\n(.*)\n/g)];

  it("the file compiles: every marked mistake is an error", () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    expect(tsc(SOURCE)).toEqual([]);
  });

  it("without the markers each mistake fails, on its own line, for its reason", () => {
    // Keep the file in place (relative imports), as a sibling copy.
    const copy = join(import.meta.dirname, ".unmarked.types.ts");
    writeFileSync(copy, source.replaceAll("// @ts-expect-error\n", "\n"));
    try {
      const errors = tsc(copy);
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
