/**
 * Where `vmflake types` writes, beside the hosts file: `.vmflake/nixos-options.d.ts` (the types
 * the type check and the editor read) and `.vmflake/nixos-options.json` (the option names and
 * the nixpkgs they came from, which the build reads for its did-you-mean and to say when the
 * types are stale).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { OptionNames } from "../../lib/index.ts";
import type { OptionSource } from "./option-data.ts";

/** The folder of generated files, relative to the hosts file's directory. */
export const GENERATED_DIR = ".vmflake";
export const TYPES_FILE = join(GENERATED_DIR, "nixos-options.d.ts");
export const NAMES_FILE = join(GENERATED_DIR, "nixos-options.json");

/** What `.vmflake/nixos-options.json` holds. */
export interface NamesFile {
  readonly source: OptionSource;
  readonly options: OptionNames;
}

/** The generated files found in `dir`, if any. */
export interface Generated {
  /** The declaration file, absolute (for the type check). */
  readonly types: string | undefined;
  readonly names: NamesFile | undefined;
}

/** Reads what `vmflake types` wrote in `dir` (the hosts file's directory). */
export function readGenerated(dir: string): Generated {
  const types = join(dir, TYPES_FILE);
  const names = join(dir, NAMES_FILE);
  return {
    types: existsSync(types) ? types : undefined,
    names: existsSync(names) ? (JSON.parse(readFileSync(names, "utf8")) as NamesFile) : undefined,
  };
}

/** nixpkgs as `flake.lock` in `flakeDir` pins it: the root's `nixpkgs` input. */
export interface LockedNixpkgs {
  /** The `locked` attributes, for `builtins.fetchTree`. */
  readonly locked: { readonly [k: string]: string | number | boolean };
  readonly narHash: string;
}

/** The nixpkgs of `flakeDir/flake.lock`, or undefined without a lock file (or no nixpkgs in it). */
export function lockedNixpkgs(flakeDir: string): LockedNixpkgs | undefined {
  const file = join(flakeDir, "flake.lock");
  if (!existsSync(file)) return undefined;
  const lock = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: {
      [n: string]: {
        inputs?: { [i: string]: string | string[] };
        locked?: LockedNixpkgs["locked"];
      };
    };
    root: string;
  };
  const input = lock.nodes[lock.root]?.inputs?.nixpkgs;
  const node = typeof input === "string" ? lock.nodes[input] : undefined;
  const locked = node?.locked;
  if (locked === undefined || typeof locked.narHash !== "string") return undefined;
  return { locked, narHash: locked.narHash };
}

/**
 * Why the generated types do not match `flakeDir/flake.lock`, or undefined when they do (or
 * when there is nothing to compare: no generated files, or no lock file).
 */
export function staleReason(generated: Generated, flakeDir: string): string | undefined {
  if (generated.names === undefined) return undefined;
  const lock = lockedNixpkgs(flakeDir);
  if (lock === undefined) return undefined;
  const had = generated.names.source.narHash;
  if (had === lock.narHash) return undefined;
  return (
    `${TYPES_FILE} was generated from nixpkgs ${had ?? `(${generated.names.source.from})`}, ` +
    `but flake.lock pins ${lock.narHash}; run \`npx vmflake types\` to update it`
  );
}
