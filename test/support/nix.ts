/** Running Debian's Nix 2.8 from tests: evaluate to JSON, instantiate, build. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { nixEnv } from "./tools.ts";

/** The stand-in nixpkgs under test/nix (see its default.nix for what it stands in for). */
export const STAND_IN_NIXPKGS = join(import.meta.dirname, "..", "nix", "stand-in-nixpkgs");

function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, {
      env: nixEnv,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} failed:\n${err.stderr ?? err.message}`);
  }
}

/** `nix-instantiate --eval --strict --json` of an expression, parsed. */
export function evalJson<T = unknown>(expr: string): T {
  return JSON.parse(
    run("nix-instantiate", ["--eval", "--strict", "--json", "--read-write-mode", "-E", expr]),
  ) as T;
}

/** `nix-build` of an expression; the output path. */
export function build(expr: string): string {
  return run("nix-build", ["--no-out-link", "-E", expr]).trim().split("\n").pop()!;
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
