/**
 * `npx vmflake types` (and `build.ts --types`): walks the NixOS options of the nixpkgs the flake
 * uses and writes the generated types and option names beside the hosts file.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import * as n from "../../dsl/index.ts";
import type { Io } from "../main.ts";
import { UsageError, optionValue } from "../args.ts";
import { generateTypes } from "./emit-types.ts";
import { NAMES_FILE, type NamesFile, TYPES_FILE, lockedNixpkgs } from "./generated-files.ts";
import type { OptionData, OptionSource } from "./option-data.ts";
import { optionNames } from "./option-names.ts";
import { NixEvalError, nixEvalJson, nixHashPath, walkOptions } from "./walk-options.ts";

export const TYPES_USAGE = `Usage: npx vmflake types [--dir DIR] [--nixpkgs PATH]

Generates TypeScript types for the NixOS options of your nixpkgs, so the type check (and the
editor) flags a misspelt option or a wrong value in a guest's \`config\`. Writes
DIR/${TYPES_FILE} and DIR/${NAMES_FILE}; commit both.

  --dir DIR        the directory of hosts.ts and flake.lock (default: the current one)
  --nixpkgs PATH   read the options of this nixpkgs checkout instead of flake.lock's nixpkgs
  -h, --help       show this help

Exit codes: 0 written, 1 Nix could not evaluate the options, 2 wrong usage.
`;

/** Options of the types command. */
export interface TypesOptions {
  /** Where the hosts file is: the generated files go below it. */
  readonly dir: string;
  /** Where flake.lock is (the flake's directory). */
  readonly flakeDir: string;
  readonly nixpkgs: string | undefined;
}

/** Parses `vmflake types` arguments; undefined for `--help`. */
export function parseTypesArgs(argv: readonly string[], cwd: string): TypesOptions | undefined {
  let dir = cwd;
  let nixpkgs: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => optionValue(argv, ++i, a);
    if (a === "--dir") dir = resolve(cwd, value());
    else if (a === "--nixpkgs") nixpkgs = resolve(cwd, value());
    else if (a === "-h" || a === "--help") return undefined;
    else throw new UsageError(`unknown option ${a}`);
  }
  return { dir, flakeDir: dir, nixpkgs };
}

/** nixpkgs to walk and how it was chosen. */
function chooseNixpkgs(o: TypesOptions): { path: string; source: Omit<OptionSource, "release"> } {
  if (o.nixpkgs !== undefined) {
    const hash = nixHashPath(o.nixpkgs);
    return { path: o.nixpkgs, source: { narHash: hash, from: "a nixpkgs checkout" } };
  }
  const lock = lockedNixpkgs(o.flakeDir);
  if (lock === undefined) {
    throw new UsageError(
      `no flake.lock with a nixpkgs input in ${o.flakeDir}: run \`nix flake lock\` there, or give --nixpkgs PATH`,
    );
  }
  const path = nixEvalJson<string>(
    n.printExpr(n.select(n.builtins.fetchTree(lock.locked as n.NixValue), "outPath")),
  );
  return { path, source: { narHash: lock.narHash, from: "flake.lock" } };
}

/** Writes `files` (relative to `dir`) through temporary names, then renames them into place. */
function writeAll(dir: string, files: ReadonlyMap<string, string>): void {
  const staged: [string, string][] = [];
  try {
    for (const [rel, text] of files) {
      const final = join(dir, rel);
      mkdirSync(dirname(final), { recursive: true });
      const tmp = `${final}.vmflake-${process.pid}.tmp`;
      writeFileSync(tmp, text);
      staged.push([tmp, final]);
    }
  } catch (e) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw e;
  }
  for (const [tmp, final] of staged) renameSync(tmp, final);
}

/** The files for one walk: the declaration file and the option names. */
export function generatedFiles(data: OptionData): {
  files: Map<string, string>;
  interfaces: number;
  options: number;
} {
  const types = generateTypes(data);
  const names: NamesFile = { source: data.source, options: optionNames(data.options) };
  return {
    files: new Map([
      [TYPES_FILE, types.text],
      [NAMES_FILE, `${JSON.stringify(names)}\n`],
    ]),
    interfaces: types.interfaces,
    options: types.options,
  };
}

/** Runs the command; resolves to the exit code. */
export async function runTypes(argv: readonly string[], io: Io, cwd: string): Promise<number> {
  let opts: TypesOptions | undefined;
  try {
    opts = parseTypesArgs(argv, cwd);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${e.message}\n\n${TYPES_USAGE}`);
    return 2;
  }
  if (opts === undefined) {
    io.stdout(TYPES_USAGE);
    return 0;
  }
  return generate(opts, io);
}

/** Walks, generates and writes; the exit code. */
export function generate(opts: TypesOptions, io: Io): number {
  const start = performance.now();
  let chosen;
  let walked;
  try {
    chosen = chooseNixpkgs(opts);
    walked = walkOptions({ nixpkgs: chosen.path });
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${e.message}\n`);
      return 2;
    }
    if (!(e instanceof NixEvalError)) throw e;
    io.stderr(`Nix could not evaluate the NixOS options:\n${e.message}\n`);
    return 1;
  }
  const walkSeconds = (performance.now() - start) / 1000;
  const data: OptionData = {
    source: { ...chosen.source, release: walked.release },
    options: walked.options,
  };
  const out = generatedFiles(data);
  writeAll(opts.dir, out.files);
  const seconds = (performance.now() - start) / 1000;
  const size = out.files.get(TYPES_FILE)!.length;
  const where = relative(process.cwd(), opts.dir) || ".";
  const r = walked.report;
  io.stdout(
    `Wrote ${join(where, TYPES_FILE)} (${out.options} options, ${out.interfaces} interfaces, ` +
      `${(size / 1024).toFixed(0)} KiB) and ${join(where, NAMES_FILE)} in ${seconds.toFixed(1)} s ` +
      `(Nix: ${walkSeconds.toFixed(1)} s, ${r.evaluations} evaluation${r.evaluations === 1 ? "" : "s"}).\n` +
      (r.undocumented.length > 0
        ? `Without documentation (their docs do not evaluate): ${r.undocumented.join(", ")}\n`
        : "") +
      (r.untyped.length > 0
        ? `Typed as any value (their types do not evaluate): ${r.untyped.join(", ")}\n`
        : ""),
  );
  return 0;
}
