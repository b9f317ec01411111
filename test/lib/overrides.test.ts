/**
 * Overrides the NixOS way (docs/design.md §6.5): a host configuration that imports the emitted
 * `nixosModules.<host>` changes a guest's option or a unit's setting, and gets exactly that
 * change; a value the option types refuse is refused with the option's name. Against the stand-in
 * nixpkgs always, and against a real nixpkgs when NIXPKGS is set.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { evalJson, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { describeNixpkgs, nixpkgsStorePath, runNix } from "../nixos/support.ts";

const UNLISTED_MODULES = join(REPO_ROOT, "test", "nixos", "unlisted-modules.nix");

/** One way to evaluate: a nixpkgs expression and a runner that gives JSON or the error text. */
interface Tier {
  readonly nixpkgs: () => string;
  /** Modules a host system of this nixpkgs imports besides its own (a Nix list). */
  readonly hostImports: string;
  readonly run: (expr: string) => { value: unknown } | { error: string };
}

const STAND_IN: Tier = {
  nixpkgs: () => `import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { }`,
  hostImports: "[ ]",
  run: (expr) => {
    try {
      return { value: evalJson(expr) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  },
};

const REAL: Tier = {
  nixpkgs: () => `builtins.getFlake ${JSON.stringify(`path:${nixpkgsStorePath()}`)}`,
  // What upstream's module list has and a slimmed snapshot may not (the firewall's backends).
  hostImports: `(import (/. + ${nixPath(UNLISTED_MODULES)}) nixpkgs).all`,
  run: (expr) => {
    const r = runNix("nix", ["eval", "--impure", "--json", "--expr", expr]);
    return r.status === 0 ? { value: JSON.parse(r.stdout) as unknown } : { error: r.stderr };
  },
};

const UNITS = ["qemu-guest-alice", "qemu-guest-bob"] as const;

interface Unit {
  wantedBy: string[];
  requires: string[];
  after: string[];
  restartIfChanged: boolean;
  serviceConfig: Record<string, unknown>;
}

function overrideTests(tier: Tier): void {
  const dir = tempDir("vmflake-overrides-");
  const out = join(dir, "flake");
  beforeAll(async () => {
    writeFileSync(
      join(dir, "hosts.ts"),
      `import { defineHosts } from ${JSON.stringify(join(REPO_ROOT, "lib", "index.ts"))};
export default defineHosts({ hosts: { study: {
  lan: { nic: "enp0s31f6", bridge: "vbridge0" },
  stateVersion: "26.05",
  guests: {
    alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" },
    bob: { memory: "2G", disk: "20G", autostart: false },
  },
} } });
`,
    );
    const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
    if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stderr}`);
  });

  /**
   * The host system of `nixosModules.study` plus the least a NixOS host needs (as the flake's own
   * check adds) plus `override`, a module of the host's own configuration; `body` sees it as `c`.
   */
  const withOverride = (override: string, body: string) => `let
    nixpkgs = ${tier.nixpkgs()};
    dir = /. + ${nixPath(out)};
    flake = import (dir + "/flake.nix");
    self = flake.outputs { inherit self nixpkgs; } // { outPath = dir; };
    c = (nixpkgs.lib.nixosSystem {
      modules = [
        self.nixosModules.study
        {
          imports = ${tier.hostImports};
          nixpkgs.hostPlatform = "x86_64-linux";
          networking.hostName = "study";
          boot.loader.grub.device = "nodev";
          fileSystems."/" = { device = "/dev/disk/by-label/nixos"; fsType = "ext4"; };
          system.stateVersion = "26.05";
        }
        (${override})
      ];
    }).config;
  in ${body}`;

  /** Both guests' units with `override`: what a unit file would be written from. */
  const unitsBody = `builtins.listToAttrs (map (n: let s = c.systemd.services.\${n}; in {
    name = n;
    value = {
      wantedBy = s.wantedBy or [ ];
      requires = s.requires or [ ];
      after = s.after or [ ];
      inherit (s) restartIfChanged serviceConfig;
    };
  }) [ ${UNITS.map((u) => JSON.stringify(u)).join(" ")} ])`;

  const units = (override: string): Record<string, Unit> => {
    const r = tier.run(withOverride(override, unitsBody));
    if ("error" in r) throw new Error(r.error);
    return r.value as Record<string, Unit>;
  };

  /** The evaluation error of the units with `override` (which must not evaluate). */
  const refused = (override: string): string => {
    const r = tier.run(withOverride(override, unitsBody));
    if ("value" in r) throw new Error(`accepted: ${JSON.stringify(r.value)}`);
    return r.error;
  };

  let plain: Record<string, Unit> = {};
  beforeAll(() => {
    plain = units("{ }");
  });

  it("without overrides: alice starts with the host, bob does not", () => {
    expect(plain["qemu-guest-alice"]!.wantedBy).toEqual(["multi-user.target"]);
    expect(plain["qemu-guest-bob"]!.wantedBy).toEqual([]);
    expect(plain["qemu-guest-alice"]!.serviceConfig).not.toHaveProperty("CPUQuota");
  });

  it("vmflake.guests.alice.autostart = lib.mkForce false: alice's unit is not wanted, nothing else changes", () => {
    const v = units("{ lib, ... }: { vmflake.guests.alice.autostart = lib.mkForce false; }");
    expect(v["qemu-guest-alice"]).toEqual({ ...plain["qemu-guest-alice"], wantedBy: [] });
    expect(v["qemu-guest-bob"]).toEqual(plain["qemu-guest-bob"]);
  });

  it("serviceConfig.CPUQuota lands next to every setting the runtime made", () => {
    const v = units(`{ lib, ... }: {
      vmflake.guests.alice.autostart = lib.mkForce false;
      systemd.services.qemu-guest-alice.serviceConfig.CPUQuota = "200%";
    }`);
    const alice = plain["qemu-guest-alice"]!;
    expect(v["qemu-guest-alice"]).toEqual({
      ...alice,
      wantedBy: [],
      serviceConfig: { ...alice.serviceConfig, CPUQuota: "200%" },
    });
    // The runtime's settings are all still there: QEMU, its stop, the sandbox …
    for (const key of ["ExecStart", "ExecStartPre", "ExecStop", "User", "ProtectSystem"]) {
      expect(v["qemu-guest-alice"]!.serviceConfig[key], key).toBeDefined();
    }
    expect(v["qemu-guest-bob"]).toEqual(plain["qemu-guest-bob"]);
  });

  it("a value the values file sets: a plain definition conflicts, lib.mkForce wins", () => {
    const conflict = refused("{ vmflake.guests.bob.autostart = true; }");
    expect(conflict).toContain("`vmflake.guests.bob.autostart'");
    expect(conflict).toMatch(/conflicting definition values/);
    const v = units("{ lib, ... }: { vmflake.guests.bob.autostart = lib.mkForce true; }");
    expect(v["qemu-guest-bob"]).toEqual({
      ...plain["qemu-guest-bob"],
      wantedBy: ["multi-user.target"],
    });
    expect(v["qemu-guest-alice"]).toEqual(plain["qemu-guest-alice"]);
  });

  it.each([
    ["a plain definition", '{ vmflake.guests.alice.tap = "a,b"; }'],
    ["lib.mkForce", '{ lib, ... }: { vmflake.guests.alice.tap = lib.mkForce "a,b"; }'],
  ])(
    "a tap with a comma (%s) is refused by the option's type, naming the option",
    (_, override) => {
      const error = refused(override);
      expect(error).toContain("`vmflake.guests.alice.tap'");
      expect(error).toContain("string matching the pattern [A-Za-z0-9][A-Za-z0-9_.-]{0,14}");
      expect(error).toContain('"a,b"');
      // The type refused it, not QEMU's own comma check in qemu.nix.
      expect(error).not.toContain("which QEMU would read as the start of another option");
    },
  );
}

describeWith(["nix-instantiate"], "overrides of the host module (stand-in nixpkgs)", () =>
  overrideTests(STAND_IN),
);

describeNixpkgs("overrides of the host module (real nixpkgs)", () => overrideTests(REAL));
