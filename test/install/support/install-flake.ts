/**
 * The emitted flake of a test's hosts file, evaluated with real Nix against the stand-in nixpkgs
 * (test/nix/stand-in-nixpkgs), which can present a test-built bootable ISO as the installer's
 * isoImage. Gives the install units and the installer's service as the module renders them, with
 * every store path they name built (building the scripts runs shellcheck on them).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build as buildCli, REPO_ROOT } from "../../support/build-cli.ts";
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
  script: string;
  user: string;
  group: string;
  stateDirectory: string;
  stateDirectoryMode: string;
  condition: string;
  timeoutStartSec: number;
}

/** The installer ISO's service as its module renders it, and what its ISO carries. */
export interface InstallerService {
  execStart: string;
  /** environment.etc entries that are symlinks to store paths: /etc path → store path. */
  etcLinks: Record<string, string>;
  storeContents: string[];
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
): { units: Record<string, InstallUnit>; installer: InstallerService } {
  const body = `{
    units = builtins.listToAttrs (map (g: let s = host.systemd.services."qemu-guest-\${g}-install"; in {
      name = g;
      value = {
        inherit (s) script;
        user = s.serviceConfig.User;
        group = s.serviceConfig.Group;
        stateDirectory = s.serviceConfig.StateDirectory;
        stateDirectoryMode = s.serviceConfig.StateDirectoryMode;
        condition = s.unitConfig.ConditionPathExists;
        timeoutStartSec = s.serviceConfig.TimeoutStartSec;
      };
    }) [ ${guests.map((g) => JSON.stringify(g)).join(" ")} ]);
    installer = {
      execStart = installer.systemd.services.vmflake-install.serviceConfig.ExecStart;
      etcLinks = builtins.listToAttrs (map (n: { name = "/etc/\${n}"; value = "\${installer.environment.etc.\${n}.source}"; })
        (builtins.attrNames (installer.environment.etc or { })));
      storeContents = map (p: "\${p}") (installer.isoImage.storeContents or [ ]);
    };
  }`;
  const v = evalFlake<{ units: Record<string, InstallUnit>; installer: InstallerService }>(
    out,
    hostName,
    body,
    iso,
  );
  nixBuild(`let ${flakeLet(out, hostName, iso)} in nixpkgs.legacyPackages.x86_64-linux.runCommand "install-deps" { } ''
    cat > $out <<'EOF'
    ${guests.map((g) => `\${host.systemd.services."qemu-guest-${g}-install".script}`).join("\n")}
    \${installer.systemd.services.vmflake-install.serviceConfig.ExecStart}
    \${builtins.toJSON (installer.isoImage.storeContents or [ ])}
    \${builtins.toJSON (builtins.mapAttrs (n: e: "\${e.source}") (installer.environment.etc or { }))}
    EOF
  ''`);
  return v;
}
