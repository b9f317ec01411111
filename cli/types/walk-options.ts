/**
 * Runs `nixos-options.nix` with Nix: the option declarations of a nixpkgs' NixOS as data. One
 * evaluation walks everything; when it fails (Nix cannot catch every error: an undefined
 * variable in one module's example ends the whole evaluation), the walk is split, set by set,
 * down to the failing option, which is walked again without its documentation, and typed as
 * any value when even that fails.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as n from "../../dsl/index.ts";
import type { OptionEntry, OptionSet } from "./option-data.ts";

const WALKER = join(import.meta.dirname, "nixos-options.nix");

/** Nix as `vmflake types` runs it: the new CLI and flakes, whatever the user's nix.conf says. */
const NIX_FLAGS = ["--extra-experimental-features", "nix-command flakes"];

/** What the walk reads options from. */
export interface WalkSource {
  /** A nixpkgs source tree (a checkout or a store path). */
  readonly nixpkgs: string;
  /** More NixOS modules (files) whose options are walked too. */
  readonly extraModules?: readonly string[];
}

/** A failed Nix run, with what Nix said. */
export class NixEvalError extends Error {
  override name = "NixEvalError";
}

/** `nix eval --json` of an expression; the parsed value. */
export function nixEvalJson<T>(expr: string, env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync("nix", [...NIX_FLAGS, "eval", "--impure", "--json", "--expr", expr], {
    encoding: "utf8",
    env,
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.error) throw new NixEvalError(`could not run nix: ${r.error.message}`);
  if (r.status !== 0) throw new NixEvalError(r.stderr.trim());
  return JSON.parse(r.stdout) as T;
}

/** The NAR hash of a directory (`sha256-…`), as flake.lock records its inputs' hashes. */
export function nixHashPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync("nix", [...NIX_FLAGS, "hash", "path", "--type", "sha256", "--sri", dir], {
    encoding: "utf8",
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.error) throw new NixEvalError(`could not run nix: ${r.error.message}`);
  if (r.status !== 0) throw new NixEvalError(r.stderr.trim());
  return r.stdout.trim();
}

function walkerCall(source: WalkSource, fields: { readonly [k: string]: n.NixValue }): string {
  const args: { [k: string]: n.NixValue } = {
    nixpkgs: n.path(source.nixpkgs),
    extraModules: (source.extraModules ?? []).map((m) => n.path(m)),
    ...fields,
  };
  return n.printExpr(n.call(n.ref("import"), n.path(WALKER), args));
}

interface Walked {
  readonly nixosRelease: string | null;
  readonly entry: OptionEntry | null;
}

interface Listed {
  readonly isOption: boolean;
  readonly names: readonly string[];
}

/** How the walk went: what it had to leave out. */
export interface WalkReport {
  /** Options whose documentation could not be evaluated (typed, without TSDoc). */
  readonly undocumented: string[];
  /** Options whose type could not be evaluated at all (typed as any value). */
  readonly untyped: string[];
  /** Nix evaluations run. */
  evaluations: number;
}

/** The result of a walk. */
export interface WalkResult {
  readonly release: string | null;
  readonly options: OptionSet;
  readonly report: WalkReport;
}

/**
 * Walks every option of `source` (or only those below `roots`, paths of option sets), splitting
 * around errors (see the file's comment).
 */
export function walkOptions(
  source: WalkSource,
  roots?: readonly (readonly string[])[],
  env?: NodeJS.ProcessEnv,
): WalkResult {
  const report: WalkReport = { undocumented: [], untyped: [], evaluations: 0 };
  let release: string | null = null;
  const run = <T>(fields: { readonly [k: string]: n.NixValue }): T => {
    report.evaluations++;
    return nixEvalJson<T>(walkerCall(source, fields), env);
  };

  // The entry at `at`, only the names `only` of it when given (a group).
  const walk = (at: readonly string[], only?: readonly string[]): OptionEntry | null => {
    try {
      const r = run<Walked>(
        only === undefined ? { at: [...at] } : { at: [...at], only: [...only] },
      );
      release ??= r.nixosRelease;
      return r.entry;
    } catch (e) {
      if (!(e instanceof NixEvalError)) throw e;
    }
    if (only === undefined) {
      const listed = run<Listed>({ at: [...at], list: true });
      if (listed.isOption) return bareOption(at);
      return walkNames(at, listed.names);
    }
    return walkNames(at, only);
  };

  // The names of the group at `at`, halved until the failing ones are alone.
  const walkNames = (at: readonly string[], names: readonly string[]): OptionEntry => {
    const options: { [k: string]: OptionEntry } = {};
    const add = (entry: OptionEntry | null) => {
      if (entry?.kind === "group") Object.assign(options, entry.options);
    };
    if (names.length === 1) {
      const entry = walk([...at, names[0]!]);
      if (entry !== null && !(entry.kind === "group" && Object.keys(entry.options).length === 0))
        options[names[0]!] = entry;
    } else if (names.length > 1) {
      const half = Math.ceil(names.length / 2);
      add(walk(at, names.slice(0, half)));
      add(walk(at, names.slice(half)));
    }
    return { kind: "group", options };
  };

  // An option whose documentation does not evaluate: its type alone, or any value.
  const bareOption = (at: readonly string[]): OptionEntry | null => {
    try {
      const bare = run<Walked>({ at: [...at], docs: false });
      report.undocumented.push(at.join("."));
      return bare.entry;
    } catch (e) {
      if (!(e instanceof NixEvalError)) throw e;
      report.untyped.push(at.join("."));
      const type = { kind: "any", name: "unevaluable", description: null } as const;
      return { kind: "option", description: null, default: null, example: null, type };
    }
  };

  if (roots === undefined) {
    const top = walk([]);
    return { release, options: top?.kind === "group" ? top.options : {}, report };
  }
  const options: { [k: string]: OptionEntry } = {};
  for (const root of roots) {
    const entry = walk(root);
    if (entry !== null) placeAt(options, root, entry);
  }
  return { release, options, report };
}

/** Puts `entry` at `path` in `set`, making the groups on the way. */
function placeAt(
  set: { [k: string]: OptionEntry },
  path: readonly string[],
  entry: OptionEntry,
): void {
  let here = set;
  for (const name of path.slice(0, -1)) {
    const next = here[name];
    if (next?.kind !== "group") {
      const group = { kind: "group" as const, options: {} as { [k: string]: OptionEntry } };
      here[name] = group;
      here = group.options;
    } else here = next.options as { [k: string]: OptionEntry };
  }
  here[path[path.length - 1]!] = entry;
}
