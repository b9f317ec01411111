/**
 * Type-check the hosts file before running it (tsx strips types without checking them). The
 * native compiler of TypeScript 7 checks one file in about a second; ts-morph's bundled
 * TypeScript 6 API takes several (see the benchmark), so this runs `tsc`.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";

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

/** The arguments that check `file` with `tsc` (Node's types from vmflake's own node_modules). */
export function tscArgs(tsc: string, file: string): string[] {
  const typeRoots = join(dirname(dirname(tsc)), "@types");
  return [...TSC_FLAGS, "--typeRoots", typeRoots, "--types", "node", file];
}

/** The native compiler installed with vmflake (npm ci installs it). */
export function findTsc(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", ".bin", "tsc");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error("typescript is not installed (npm ci installs it)");
  }
}

/** A path as the user would type it: relative below the working directory, else absolute. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

/** Diagnostics for `file` (empty when it type-checks). */
export function typecheckFile(file: string, toolDir: string): Diagnostic[] {
  const tsc = findTsc(toolDir);
  const r = spawnSync(tsc, tscArgs(tsc, file), { encoding: "utf8", cwd: dirname(file) });
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
