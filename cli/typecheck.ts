/**
 * Type-check the hosts file before running it (tsx strips types without checking them). The
 * native compiler of TypeScript 7 checks one file in about a second; ts-morph's bundled
 * TypeScript 6 API takes several (see the benchmark), so this runs `tsc`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";

// Resolved from this file, not from the user's directory: typescript and @types/node are
// dependencies of vmflake, so they are wherever npm put vmflake's dependencies (hoisted into the
// user's node_modules or nested below vmflake's own), and the user installs neither.
const require = createRequire(import.meta.url);

/** One diagnostic as `file:LINE:COL message`. */
export type Diagnostic = string;

/** Compiler options for a hosts file (the project's tsconfig is not needed, nor read). */
export const TSC_FLAGS = [
  "--ignoreConfig",
  "--noEmit",
  "--pretty",
  "false",
  "--strict",
  "--exactOptionalPropertyTypes",
  "--target",
  "ES2022",
  "--module",
  "preserve",
  "--moduleResolution",
  "bundler",
  "--allowImportingTsExtensions",
  "--skipLibCheck",
];

/**
 * The arguments that check `file` with `tsc`. Node's types come from vmflake's own dependency
 * on @types/node, so a hosts file may use `node:fs` or `process.env` without the user installing
 * them; the file's own directory is not searched for types (it may have none).
 */
export function tscArgs(file: string, extraFiles: readonly string[] = []): string[] {
  const typeRoots = dirname(dirname(require.resolve("@types/node/package.json")));
  return [...TSC_FLAGS, "--typeRoots", typeRoots, "--types", "node", file, ...extraFiles];
}

/** The JavaScript entry of the native compiler vmflake depends on (run it with `node`). */
export function findTsc(): string {
  const manifest = require.resolve("typescript/package.json");
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { bin: { tsc: string } };
  return join(dirname(manifest), bin.tsc);
}

/** A path as the user would type it: relative below the working directory, else absolute. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

/**
 * Diagnostics for `file` (empty when it type-checks). `extraFiles` join the program: the
 * generated NixOS option types, which type a guest's `config`.
 */
export function typecheckFile(file: string, extraFiles: readonly string[] = []): Diagnostic[] {
  const r = spawnSync(process.execPath, [findTsc(), ...tscArgs(file, extraFiles)], {
    encoding: "utf8",
    cwd: dirname(file),
  });
  if (r.error) throw r.error;
  if (r.status === 0) return [];
  const out = `${r.stdout}${r.stderr}`.trim();
  const diags: Diagnostic[] = [];
  for (const line of out.split("\n")) {
    const m = /^(.*?)\((\d+),(\d+)\): (?:error|warning) (TS\d+: .*)$/.exec(line);
    if (m)
      diags.push(`${relative(process.cwd(), join(dirname(file), m[1]!))}:${m[2]}:${m[3]} ${m[4]}`);
    else if (line.trim() !== "" && diags.length > 0)
      diags[diags.length - 1] += `\n  ${line.trim()}`;
    else if (line.trim() !== "") diags.push(line);
  }
  return diags;
}
