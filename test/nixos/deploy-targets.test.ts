/**
 * Real deploy tools' tier: the flake's deploy targets, taken by a user's flake with the two lines
 * of the README, evaluated by colmena's own `lib.makeHive` and deploy-rs's own `lib` (their flakes
 * as inputs, checkouts named by COLMENA_SRC, DEPLOY_RS_SRC and the flake-utils they share,
 * FLAKE_UTILS_SRC with its NIX_SYSTEMS_SRC) against the real nixpkgs of NIXPKGS. deploy-rs's
 * `deploy` output is also validated against deploy-rs's own schema (interface.json, with Python's
 * jsonschema, the library deploy-rs's schema check runs). Without those checkouts the tier is
 * skipped and says so; CI has none.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import {
  NIXPKGS,
  RICH_SPEC,
  buildFlake,
  fullModuleListNixpkgs,
  removeBuiltFlakes,
  reportTime,
  runNix,
} from "./support.ts";

afterAll(removeBuiltFlakes);

const SOURCES = {
  colmena: process.env.COLMENA_SRC,
  "deploy-rs": process.env.DEPLOY_RS_SRC,
  "flake-utils": process.env.FLAKE_UTILS_SRC,
  systems: process.env.NIX_SYSTEMS_SRC,
};
const missing = [
  ...(NIXPKGS === undefined ? ["NIXPKGS"] : []),
  ...Object.entries({
    COLMENA_SRC: SOURCES.colmena,
    DEPLOY_RS_SRC: SOURCES["deploy-rs"],
    FLAKE_UTILS_SRC: SOURCES["flake-utils"],
    NIX_SYSTEMS_SRC: SOURCES.systems,
  })
    .filter(([, v]) => !v)
    .map(([k]) => k),
];
const title = "colmena and deploy-rs evaluate the flake's deploy targets";
if (missing.length > 0) {
  console.warn(
    `SKIPPED (real deploy tools' tier): ${title}: set ${missing.join(", ")} (checkouts of colmena, deploy-rs, flake-utils, nix-systems/default and nixpkgs)`,
  );
}

/** A minimal host configuration of the user's own, as the host's hardware configuration would be. */
const HOST_CONFIGURATION = `{
  nixpkgs.hostPlatform = "x86_64-linux";
  boot.loader.grub.device = "nodev";
  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  system.stateVersion = "26.05";
}
`;

/** The user's flake: the README's two lines, plus a host joining each engine with its own system. */
function userFlake(vms: string, host: string): string {
  const src = (p: string | undefined): string => JSON.stringify(`path:${resolve(p!)}`);
  return `{
  inputs = {
    nixpkgs.url = ${JSON.stringify(fullModuleListNixpkgs())};
    vms.url = ${JSON.stringify(`path:${vms}`)};
    vms.inputs.nixpkgs.follows = "nixpkgs";
    systems.url = ${src(SOURCES.systems)};
    flake-utils.url = ${src(SOURCES["flake-utils"])};
    flake-utils.inputs.systems.follows = "systems";
    colmena.url = ${src(SOURCES.colmena)};
    colmena.inputs.nixpkgs.follows = "nixpkgs";
    colmena.inputs.stable.follows = "nixpkgs";
    colmena.inputs.flake-utils.follows = "flake-utils";
    # Unused by lib.makeHive; pointed at a local input so nothing is fetched.
    colmena.inputs.nix-github-actions.follows = "nixpkgs";
    colmena.inputs.flake-compat.follows = "nixpkgs";
    deploy-rs.url = ${src(SOURCES["deploy-rs"])};
    deploy-rs.inputs.nixpkgs.follows = "nixpkgs";
    deploy-rs.inputs.utils.follows = "flake-utils";
    deploy-rs.inputs.flake-compat.follows = "nixpkgs";
  };
  outputs = { self, nixpkgs, vms, colmena, deploy-rs, ... }: {
    colmenaHive = colmena.lib.makeHive vms.colmena;
    deploy.nodes = vms.lib.deployNodes { inherit deploy-rs; };

    # colmena evaluates nodes with nixpkgs' eval-config, not lib.nixosSystem: the modules a
    # slimmed nixpkgs leaves unlisted come with the host's configuration.
    colmenaHiveWithHost = colmena.lib.makeHive (vms.colmena {
      hosts.${host}.imports = [ ./host.nix ] ++ (import ./unlisted-modules.nix nixpkgs.inputs.upstream).all;
    });
    nixosConfigurations.${host} = nixpkgs.lib.nixosSystem {
      modules = [ vms.nixosModules.${host} ./host.nix ];
    };
    deployWithHost.nodes = vms.lib.deployNodes {
      inherit deploy-rs;
      hosts.${host} = self.nixosConfigurations.${host};
    };
    checks.x86_64-linux = deploy-rs.lib.x86_64-linux.deployChecks self.deploy;
    unknownHost = vms.colmena { hosts.nope = ./host.nix; };
    guestSystems = builtins.mapAttrs (_: s: s.config.system.build.toplevel.drvPath) vms.nixosConfigurations;
  };
}
`;
}

/** Writes the user's flake for a built vmflake flake; its `path:` reference. */
function writeUserFlake(vms: string, host: string): string {
  const dir = tempDir("vmflake-deploy-user-");
  writeFileSync(join(dir, "flake.nix"), userFlake(vms, host));
  writeFileSync(join(dir, "host.nix"), HOST_CONFIGURATION);
  copyFileSync(
    join(import.meta.dirname, "unlisted-modules.nix"),
    join(dir, "unlisted-modules.nix"),
  );
  return `path:${dir}`;
}

function evalJson<T>(ref: string, attr: string, apply?: string): T {
  const args = ["eval", "--json", "--no-write-lock-file", `${ref}#${attr}`];
  if (apply !== undefined) args.push("--apply", apply);
  const r = runNix("nix", args);
  reportTime(`nix eval ${attr}`, r.seconds);
  if (r.status !== 0) throw new Error(`nix ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Deployment {
  readonly targetHost: string | null;
  readonly targetUser: string | null;
  readonly tags: readonly string[];
}

describe.skipIf(missing.length > 0)(
  missing.length > 0 ? `${title} [skipped: set ${missing.join(", ")}]` : title,
  () => {
    let example = "";
    let rich = "";

    beforeAll(async () => {
      example = writeUserFlake((await buildFlake("example")).dir, "study");
      rich = writeUserFlake((await buildFlake("rich")).dir, "lab");
    }, 600_000);

    it("colmena's makeHive takes the hive as is: every guest a node, reached at its static address or name, tagged with its host", () => {
      const deployment = evalJson<Record<string, Deployment>>(
        rich,
        "colmenaHive.deploymentConfig",
        "builtins.mapAttrs (_: d: { inherit (d) targetHost targetUser tags; })",
      );
      expect(deployment).toEqual({
        "database-primary-eu": { targetHost: "192.0.2.20", targetUser: "root", tags: ["lab"] },
        web: { targetHost: "web", targetUser: "root", tags: ["lab"] },
        "nightly-builder-arm": {
          targetHost: "nightly-builder-arm",
          targetUser: "root",
          tags: ["rack"],
        },
        cache: { targetHost: "cache", targetUser: "root", tags: ["rack"] },
      });
    }, 600_000);

    it("colmena builds the guest's own system, and a host joins with its own configuration", () => {
      const drvs = evalJson<Record<string, string>>(
        example,
        "colmenaHiveWithHost",
        'hive: hive.evalSelectedDrvPaths [ "alice" "study" ]',
      );
      expect(drvs.alice).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-alice-.*\.drv$/);
      expect(drvs.study).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-.*\.drv$/);
      expect(existsSync(drvs.alice!)).toBe(true);
      expect(existsSync(drvs.study!)).toBe(true);
      const all = evalJson<{ hosts: string[]; study: Deployment }>(
        example,
        "colmenaHiveWithHost",
        "hive: { hosts = builtins.attrNames hive.deploymentConfig; study = { inherit (hive.deploymentConfig.study) targetHost tags; }; }",
      );
      expect(all.hosts.sort()).toEqual(["alice", "bob", "study"]);
      expect(all.study).toEqual({ targetHost: "study", tags: ["study"] });
      // A host the flake does not know is an error naming it, not a node without vmflake.
      const unknown = runNix("nix", [
        "eval",
        "--json",
        "--no-write-lock-file",
        `${example}#unknownHost.nope.deployment`,
      ]);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/attribute 'nope' missing/);
    }, 600_000);

    it("deploy-rs: the nodes' hostnames are the static address or name; a host joins with its own system", () => {
      const hostnames = evalJson<Record<string, string>>(
        rich,
        "deploy.nodes",
        "builtins.mapAttrs (_: node: node.hostname)",
      );
      expect(hostnames).toEqual({
        "database-primary-eu": "192.0.2.20",
        web: "web",
        "nightly-builder-arm": "nightly-builder-arm",
        cache: "cache",
      });
      const withHost = evalJson<Record<string, string>>(
        rich,
        "deployWithHost.nodes",
        "builtins.mapAttrs (_: node: node.hostname)",
      );
      expect(withHost.lab).toBe("192.0.2.10");
    }, 600_000);

    it("deploy-rs: `deploy` matches deploy-rs's schema, each profile activates the guest's system, and deployChecks evaluate", () => {
      const deploy = evalJson<{ nodes: Record<string, unknown> }>(example, "deploy");
      const file = join(tempDir("vmflake-deploy-json-"), "deploy.json");
      writeFileSync(file, JSON.stringify(deploy));
      const schema = join(resolve(SOURCES["deploy-rs"]!), "interface.json");
      const check = spawnSync(
        "python3",
        [
          "-c",
          "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1]))); print('valid')",
          schema,
          file,
        ],
        { encoding: "utf8" },
      );
      expect(check.stderr).toBe("");
      expect(check.stdout.trim()).toBe("valid");
      expect(Object.keys(deploy.nodes).sort()).toEqual(["alice", "bob"]);

      const profile = evalJson<{ drv: string; user: string; sshUser: string }>(
        example,
        "deploy.nodes.alice",
        "node: { drv = node.profiles.system.path.drvPath; inherit (node.profiles.system) user; inherit (node) sshUser; }",
      );
      expect(profile).toMatchObject({ user: "root", sshUser: "root" });
      expect(profile.drv).toMatch(/-activatable-nixos-system-alice-.*\.drv$/);
      // deploy-rs's activatable profile wraps exactly the guest's own system.
      const guestSystems = evalJson<Record<string, string>>(example, "guestSystems");
      const drv = readFileSync(profile.drv, "utf8");
      expect(drv).toContain(guestSystems.alice);
      expect(drv).not.toContain(guestSystems.bob);

      const checks = evalJson<Record<string, string>>(
        example,
        "checks.x86_64-linux",
        "builtins.mapAttrs (_: c: c.drvPath)",
      );
      expect(Object.keys(checks).sort()).toEqual(["deploy-activate", "deploy-schema"]);
    }, 600_000);
  },
);
