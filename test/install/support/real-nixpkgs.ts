/**
 * The real NixOS tier: the emitted flake evaluated with a real nixpkgs (`NIXPKGS=/path`), through a
 * small host flake that imports it the way a user's host flake does (`inputs.vms.inputs.nixpkgs
 * .follows = "nixpkgs"`). Only evaluation: nothing is built.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nixEnv } from "../../support/tools.ts";

/**
 * Writes a host flake in `dir` for host `host` of the emitted flake in `vms`: a NixOS system
 * with `vms.nixosModules.<host>` and the few settings a real host has anyway, plus `installer`,
 * the installer's configuration evaluated as the emitted flake's package is. `nixpkgs` is a
 * flake reference (`path:…`).
 */
export function writeHostFlake(dir: string, vms: string, nixpkgs: string, host: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "flake.nix"),
    `{
  inputs.nixpkgs.url = ${JSON.stringify(nixpkgs)};
  inputs.vms.url = "path:${vms}";
  inputs.vms.inputs.nixpkgs.follows = "nixpkgs";
  outputs = { self, nixpkgs, vms }: {
    nixosConfigurations.host = nixpkgs.lib.nixosSystem {
      modules = [
        vms.nixosModules.${host}
        {
          nixpkgs.hostPlatform = "x86_64-linux";
          networking.hostName = "${host}";
          boot.loader.grub.device = "nodev";
          fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
          system.stateVersion = "26.05";
        }
      ];
    };
    installer = (nixpkgs.lib.nixosSystem {
      modules = [
        "\${vms}/modules/installer/${host}.nix"
        { _module.args.guestSystems = vms.nixosConfigurations; }
      ];
    }).config;
    inherit vms;
  };
}
`,
  );
}

export interface Timed<T> {
  value: T;
  seconds: number;
  maxRssMiB: number;
  /**
   * The evaluator's own counts (NIX_SHOW_STATS): the work done, the same on every run up to a few
   * dozen calls in millions, however loaded the machine is.
   */
  stats: { functionCalls: number; thunks: number; cpuSeconds: number };
}

/**
 * `nix eval --json` of `attr` in the flake in `dir` (without the evaluation cache, so that every
 * run evaluates), with `apply` applied when given; timed with /usr/bin/time, and with the
 * evaluator's statistics.
 *
 * Debian's Nix 2.8 dies of SIGSEGV, reproducibly for a given flake directory, when one `--apply`
 * evaluates several NixOS systems at once (the same values evaluate fine one per call), and
 * `nix eval --raw` with its evaluation cache on crashes too: so one system per call, and JSON.
 */
export function nixEvalJson<T>(dir: string, attr: string, apply?: string): Timed<T> {
  const args = ["nix", "eval", "--option", "eval-cache", "false", "--json", `${dir}#${attr}`];
  if (apply !== undefined) args.push("--apply", apply);
  const statsDir = mkdtempSync(join(tmpdir(), "vmflake-nix-stats-"));
  const statsFile = join(statsDir, "stats.json");
  try {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", ...args], {
      env: { ...nixEnv, NIX_SHOW_STATS: "1", NIX_SHOW_STATS_PATH: statsFile },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = r.stderr.trim().split("\n");
    const [seconds, kb] = lines[lines.length - 1]!.split(" ").map(Number);
    if (r.status !== 0) throw new Error(`nix eval ${attr} failed:\n${r.stderr}`);
    const stats = JSON.parse(readFileSync(statsFile, "utf8")) as {
      nrFunctionCalls: number;
      nrThunks: number;
      cpuTime: number;
    };
    return {
      value: JSON.parse(r.stdout) as T,
      seconds: seconds!,
      maxRssMiB: Math.round(kb! / 1024),
      stats: {
        functionCalls: stats.nrFunctionCalls,
        thunks: stats.nrThunks,
        cpuSeconds: stats.cpuTime,
      },
    };
  } finally {
    rmSync(statsDir, { recursive: true, force: true });
  }
}

/** Locks the host flake (writes flake.lock), so timed evaluations measure evaluation only. */
export function lockFlake(dir: string): void {
  execFileSync("nix", ["flake", "lock", dir], { env: nixEnv, stdio: "pipe" });
}

/** `nix flake check --no-build` of the flake in `dir` with nixpkgs overridden; its output. */
export function flakeCheck(dir: string, nixpkgs: string): string {
  const r = spawnSync(
    "nix",
    ["flake", "check", "--no-build", "--override-input", "nixpkgs", nixpkgs, `path:${dir}`],
    { env: nixEnv, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`nix flake check failed:\n${r.stderr}`);
  return r.stderr;
}
