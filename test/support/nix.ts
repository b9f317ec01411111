/**
 * Running Debian's Nix 2.8 from tests: the one runner of its commands ({@link nixRun}), and on it
 * evaluate to JSON, build, and the stand-in nixpkgs' flake outputs. test/dsl/support/nix.ts adds
 * what the dsl tests need on the same runner (files evaluated or parsed, JSON read exactly).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { nixEnv } from "./tools.ts";

/** The stand-in nixpkgs under test/nix (see its default.nix for what it stands in for). */
export const STAND_IN_NIXPKGS = join(import.meta.dirname, "..", "nix", "stand-in-nixpkgs");

/**
 * Runs a Nix command (`nix-instantiate`, `nix-build`, …) with {@link nixEnv}; its stdout. A failure
 * throws an error with Nix's own message (its stderr).
 */
export function nixRun(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): string {
  try {
    return execFileSync(cmd, args, {
      env: nixEnv,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} failed:\n${err.stderr ?? err.message}`);
  }
}

/** `nix-instantiate --eval --strict --json` of an expression, parsed. */
export function evalJson<T = unknown>(expr: string): T {
  return JSON.parse(
    nixRun("nix-instantiate", ["--eval", "--strict", "--json", "--read-write-mode", "-E", expr]),
  ) as T;
}

/** `nix-build` of an expression; the output path. */
export function build(expr: string): string {
  return nixRun("nix-build", ["--no-out-link", "-E", expr]).trim().split("\n").pop()!;
}

/** A Nix string literal for a file-system path (for splicing test paths into expressions). */
export function nixPath(p: string): string {
  return JSON.stringify(p);
}

/**
 * An expression for the outputs of the flake in `dir`, evaluated against the stand-in nixpkgs
 * (flake inputs are passed by hand, as `nix flake` would after locking).
 */
export function flakeOutputs(dir: string): string {
  return `(let
    flake = import (/. + ${nixPath(join(dir, "flake.nix"))});
    nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
    self = flake.outputs { inherit self nixpkgs; } // { outPath = /. + ${nixPath(dir)}; };
  in self)`;
}
