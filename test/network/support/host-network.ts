/**
 * A host's network as the emitted module defines it, read back by real Nix: the flake is written
 * from a spec (with the runtime copied in, as build.ts does), then `nixosModules.<host>` is
 * evaluated (against the stand-in nixpkgs' module system) and the networking, users, and the
 * guests', taps' and bridges' units come out as JSON, their Exec lines as argument vectors. Tests
 * build the namespace from these values and run these programs, never what vmflake meant to emit.
 * A bridge's unit (`<bridge>-netdev`, NixOS's scripted backend's) holds only what the runtime adds
 * to it: the stand-in has no networking backend of its own.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { printFile } from "../../../dsl/index.ts";
import { emitFlake, resolveSpec, runtimeFiles, type ResolvedSpec } from "../../../lib/index.ts";
import { parseExecLine } from "../../support/exec-line.ts";
import {
  STAND_IN_NIXPKGS,
  build as nixBuild,
  evalJson,
  flakeOutputs,
  nixPath,
} from "../../support/nix.ts";

/** Resolves `spec`, writes its flake into `dir` (as build.ts would) and returns the model. */
export function writeFlake(spec: unknown, dir: string): ResolvedSpec {
  const resolved = resolveSpec(spec);
  for (const f of emitFlake(resolved, "hosts.ts")) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, printFile(f.file));
  }
  for (const f of runtimeFiles()) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    copyFileSync(f.source, path);
  }
  return resolved;
}

/** `networking.interfaces.<name>` (only the options vmflake sets). */
export interface EvaluatedInterface {
  useDHCP?: boolean;
  macAddress?: string;
}

/** The parts of a `systemd.services.<name>` that tie a guest to its tap, and what it runs. */
export interface EvaluatedService {
  user: string | null;
  group: string | null;
  after: string[];
  before: string[];
  bindsTo: string[];
  partOf: string[];
  requires: string[];
  wants: string[];
  wantedBy: string[];
  restartIfChanged: boolean;
  /** True when the unit has a `script` (the runtime's units have Exec lines only). */
  hasScript: boolean;
  type: string | null;
  remainAfterExit: boolean | null;
  stateDirectory: string | null;
  stateDirectoryMode: string | null;
  runtimeDirectory: string | null;
  runtimeDirectoryMode: string | null;
  /** The argument vectors of ExecStartPre, ExecStart, ExecStartPost and ExecStop (`[]` when absent). */
  execStartPre: string[];
  execStart: string[];
  execStartPost: string[];
  execStop: string[];
}

/** The evaluated network-related configuration of one host module. */
export interface HostNetwork {
  bridges: Record<string, { interfaces: string[] }>;
  interfaces: Record<string, EvaluatedInterface>;
  users: Record<string, { isSystemUser?: boolean; group?: string; extraGroups?: string[] }>;
  groups: Record<string, unknown>;
  /**
   * The guests' units (`qemu-guest-<name>`), the taps' (`vmflake-tap-<tap>`) and those of the
   * bridges the module defines anything of (`<bridge>-netdev`), by name.
   */
  services: Record<string, EvaluatedService>;
}

/**
 * Evaluates `nixosModules.<host>` of the flake in `dir` with real Nix, for the given guests, and
 * builds the programs their units and their taps' units run (writeShellApplication runs
 * shellcheck on each), so that a test can run them.
 */
export function evaluateHostNetwork(
  dir: string,
  host: string,
  guests: readonly string[],
): HostNetwork {
  const prelude = `
      outputs = ${flakeOutputs(dir)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      config = (nixpkgs.lib.nixosSystem { modules = [ outputs.nixosModules.${host} ]; }).config;
      # The install units are left out: their ExecStart names the installer ISO.
      units =
        builtins.filter (n: builtins.substring 0 12 n == "vmflake-tap-") (builtins.attrNames config.systemd.services)
        ++ map (g: "qemu-guest-" + g) [ ${guests.map((g) => JSON.stringify(g)).join(" ")} ]
        ++ builtins.filter (n: config.systemd.services ? \${n})
          (map (b: b + "-netdev") (builtins.attrNames config.networking.bridges));
      sc = n: config.systemd.services.\${n}.serviceConfig;`;
  nixBuild(`
    let ${prelude}
    in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-programs" {
      lines = map (n: builtins.concatStringsSep " "
        (map (k: (sc n).\${k} or "") [ "ExecStart" "ExecStartPost" "ExecStop" ])) units;
    } "echo \\"$lines\\" > $out"`);
  const raw = evalJson<
    Omit<HostNetwork, "services"> & {
      services: Record<
        string,
        Omit<EvaluatedService, "execStartPre" | "execStart" | "execStartPost" | "execStop"> & {
          execStartPre: string | null;
          execStart: string | null;
          execStartPost: string | null;
          execStop: string | null;
        }
      >;
    }
  >(`
    let ${prelude}
    in
    {
      inherit (config.networking) bridges interfaces;
      inherit (config.users) users groups;
      services = builtins.listToAttrs (map (n: let s = config.systemd.services.\${n}; c = s.serviceConfig; in {
        name = n;
        value = {
          user = c.User or null;
          group = c.Group or null;
          after = s.after or [ ];
          before = s.before or [ ];
          bindsTo = s.bindsTo or [ ];
          partOf = s.partOf or [ ];
          requires = s.requires or [ ];
          wants = s.wants or [ ];
          wantedBy = s.wantedBy or [ ];
          restartIfChanged = s.restartIfChanged or true;
          hasScript = s ? script;
          type = c.Type or null;
          remainAfterExit = c.RemainAfterExit or null;
          stateDirectory = c.StateDirectory or null;
          stateDirectoryMode = c.StateDirectoryMode or null;
          runtimeDirectory = c.RuntimeDirectory or null;
          runtimeDirectoryMode = c.RuntimeDirectoryMode or null;
          execStartPre = c.ExecStartPre or null;
          execStart = c.ExecStart or null;
          execStartPost = c.ExecStartPost or null;
          execStop = c.ExecStop or null;
        };
      }) units);
    }`);
  const exec = (line: string | null): string[] => (line === null ? [] : parseExecLine(line));
  return {
    ...raw,
    services: Object.fromEntries(
      Object.entries(raw.services).map(([name, s]) => [
        name,
        {
          ...s,
          execStartPre: exec(s.execStartPre),
          execStart: exec(s.execStart),
          execStartPost: exec(s.execStartPost),
          execStop: exec(s.execStop),
        },
      ]),
    ),
  };
}
