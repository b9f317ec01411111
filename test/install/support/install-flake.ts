/**
 * The emitted flake of a test's hosts file, evaluated with real Nix against the stand-in nixpkgs
 * (test/nix/stand-in-nixpkgs), which can present a test-built bootable ISO as the installer's
 * isoImage (its `bootableIso` argument; the flake's `installer-<host>` package is that isoImage,
 * and the host module's `vmflake.installer.iso` names the ISO file inside it). Gives the install
 * units and the installer's service as the runtime module renders them, their Exec lines as the
 * argument vectors systemd would run, with every store path they name built (building the
 * scripts runs shellcheck on them).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build as buildCli, REPO_ROOT } from "../../support/build-cli.ts";
import { parseExecLine } from "../../support/exec-line.ts";
import { build as nixBuild, evalJson, nixPath, STAND_IN_NIXPKGS } from "../../support/nix.ts";

/** Writes `hosts.ts` (its body: the object given to defineHosts) and builds the flake. */
export async function emitFlake(dir: string, hostsObject: string): Promise<string> {
  const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
  writeFileSync(
    join(dir, "hosts.ts"),
    `import { defineHosts } from ${lib};\nexport default defineHosts(${hostsObject});\n`,
  );
  const out = join(dir, "flake");
  const r = await buildCli(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
  if (r.code !== 0) throw new Error(`build.ts failed (${r.code}):\n${r.stderr}`);
  return out;
}

/**
 * Nix bindings for a flake evaluation: `self` (the outputs), `nixpkgs` (the stand-in, presenting
 * `iso` as the installer image when given), `host` (the host's config) and `installer` (the
 * installer system's config, evaluated as the flake's packages.<system>.installer-<host> is).
 */
export function flakeLet(out: string, hostName: string, iso?: string): string {
  return `
    dir = /. + ${nixPath(out)};
    flake = import (dir + "/flake.nix");
    nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { bootableIso = ${iso === undefined ? "null" : nixPath(iso)}; };
    self = flake.outputs { inherit self nixpkgs; } // { outPath = dir; };
    host = (nixpkgs.lib.nixosSystem { modules = [ self.nixosModules.${hostName} ]; }).config;
    installerSystem = nixpkgs.lib.nixosSystem {
      modules = [
        (dir + "/modules/installer/${hostName}.nix")
        { _module.args.guestSystems = self.nixosConfigurations; }
      ];
    };
    installer = installerSystem.config;`;
}

/** Evaluates `body` (JSON) in the scope of {@link flakeLet}. */
export function evalFlake<T>(out: string, hostName: string, body: string, iso?: string): T {
  return evalJson<T>(`let ${flakeLet(out, hostName, iso)} in ${body}`);
}

/** An install unit as the host module renders it. */
export interface InstallUnit {
  /** `serviceConfig.ExecStart` as written (escaped for systemd). */
  execLine: string;
  /** Its argument vector: install-guest's options, `--`, then QEMU and its arguments. */
  argv: string[];
  user: string;
  group: string;
  stateDirectory: string;
  stateDirectoryMode: string;
  condition: string;
  timeoutStartSec: number;
  umask: string;
}

/** The installer ISO's service as its module renders it, and what its ISO carries. */
export interface InstallerService {
  /** `serviceConfig.ExecStart` as an argument vector (the program is a store path). */
  execStart: string[];
  /** environment.etc entries that are symlinks to store paths: /etc path → store path. */
  etcLinks: Record<string, string>;
  storeContents: string[];
}

/** The install units, the ISO the host boots, and the installer's service. */
export interface Rendered {
  units: Record<string, InstallUnit>;
  /** `vmflake.installer.iso` of the host: the ISO file inside `vmflake.installer.package`. */
  iso: string;
  /** `vmflake.installer.package`, as a store path. */
  isoPackage: string;
  installer: InstallerService;
}

/** The value after `option` in an install unit's argv (the first occurrence, before `--`). */
export function optionValue(argv: readonly string[], option: string): string | undefined {
  const end = argv.indexOf("--");
  const i = argv.indexOf(option);
  return i < 0 || (end >= 0 && i > end) ? undefined : argv[i + 1];
}

/**
 * The install units of `guests` and the installer's service, with every store path they name
 * built: the scripts (shellcheck runs), the ISO (the stand-in links `iso`), the flake source, the
 * offline systems.
 */
export function installUnits(
  out: string,
  hostName: string,
  guests: readonly string[],
  iso?: string,
): Rendered {
  const list = `[ ${guests.map((g) => JSON.stringify(g)).join(" ")} ]`;
  const body = `{
    units = builtins.listToAttrs (map (g: let s = host.systemd.services."qemu-guest-\${g}-install"; in {
      name = g;
      value = {
        execLine = s.serviceConfig.ExecStart;
        user = s.serviceConfig.User;
        group = s.serviceConfig.Group;
        stateDirectory = s.serviceConfig.StateDirectory;
        stateDirectoryMode = s.serviceConfig.StateDirectoryMode;
        condition = s.unitConfig.ConditionPathExists;
        timeoutStartSec = s.serviceConfig.TimeoutStartSec;
        umask = s.serviceConfig.UMask;
      };
    }) ${list});
    iso = host.vmflake.installer.iso;
    isoPackage = "\${host.vmflake.installer.package}";
    installer = {
      execStart = installer.systemd.services.vmflake-install.serviceConfig.ExecStart;
      etcLinks = builtins.listToAttrs (map (n: { name = "/etc/\${n}"; value = "\${installer.environment.etc.\${n}.source}"; })
        (builtins.attrNames (installer.environment.etc or { })));
      storeContents = map (p: "\${p}") (installer.isoImage.storeContents or [ ]);
    };
  }`;
  type Raw = Omit<Rendered, "units" | "installer"> & {
    units: Record<string, Omit<InstallUnit, "argv">>;
    installer: Omit<InstallerService, "execStart"> & { execStart: string };
  };
  const v = evalFlake<Raw>(out, hostName, body, iso);
  // Strings with context as derivation attributes: building this builds everything they name.
  nixBuild(`let ${flakeLet(out, hostName, iso)} in nixpkgs.legacyPackages.x86_64-linux.runCommand "install-deps" {
    units = map (g: host.systemd.services."qemu-guest-\${g}-install".serviceConfig.ExecStart) ${list};
    installerExec = installer.systemd.services.vmflake-install.serviceConfig.ExecStart;
    storeContents = installer.isoImage.storeContents or [ ];
    etc = builtins.attrValues (builtins.mapAttrs (n: e: "\${e.source}") (installer.environment.etc or { }));
  } "echo done > $out"`);
  return {
    ...v,
    units: Object.fromEntries(
      Object.entries(v.units).map(([g, u]) => [g, { ...u, argv: parseExecLine(u.execLine) }]),
    ),
    installer: { ...v.installer, execStart: parseExecLine(v.installer.execStart) },
  };
}

/** A guest's tap unit: its tap and its `ExecStart` (`tap up TAP USER MAC BRIDGE`). */
export interface TapUnit {
  tap: string;
  execStart: string[];
}

/**
 * The host's tap units (`vmflake-tap-<tap>`) by the user that owns each tap, with their program
 * built: what the runtime runs before a guest's units start.
 */
export function tapUnitsByOwner(out: string, hostName: string): Record<string, TapUnit> {
  const units = `builtins.filter (n: builtins.substring 0 12 n == "vmflake-tap-") (builtins.attrNames host.systemd.services)`;
  const execOf = "(n: host.systemd.services.${n}.serviceConfig.ExecStart)";
  const lines = evalFlake<Record<string, string>>(
    out,
    hostName,
    `builtins.listToAttrs (map (n: { name = n; value = ${execOf} n; }) (${units}))`,
  );
  nixBuild(`let ${flakeLet(out, hostName)} in nixpkgs.legacyPackages.x86_64-linux.runCommand "tap-deps" {
    taps = map ${execOf} (${units});
  } "echo done > $out"`);
  const taps: Record<string, TapUnit> = {};
  for (const [unit, line] of Object.entries(lines)) {
    const execStart = parseExecLine(line);
    const [, verb, tap, user] = execStart;
    if (verb !== "up" || tap === undefined || user === undefined || unit !== `vmflake-tap-${tap}`) {
      throw new Error(`unexpected tap unit ${unit}: ${line}`);
    }
    taps[user] = { tap, execStart };
  }
  return taps;
}
