/**
 * A host's network as the emitted module defines it, read back by real Nix: the flake is written
 * from a spec, then `nixosModules.<host>` is evaluated (against the stand-in nixpkgs' module
 * merger) and the networking, users and guest-unit values come out as JSON. Tests build the
 * namespace from these values, never from what vmflake meant to emit.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { printFile } from "../../../dsl/index.ts";
import { emitFlake, resolveSpec, type ResolvedSpec } from "../../../lib/index.ts";
import { STAND_IN_NIXPKGS, evalJson, flakeOutputs, nixPath } from "../../support/nix.ts";

/** Resolves `spec`, writes its flake into `dir` (as build.ts would) and returns the model. */
export function writeFlake(spec: unknown, dir: string): ResolvedSpec {
  const resolved = resolveSpec(spec);
  for (const f of emitFlake(resolved, "hosts.ts")) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, printFile(f.file));
  }
  return resolved;
}

/** `networking.interfaces.<name>` (only the options vmflake sets). */
export interface EvaluatedInterface {
  useDHCP?: boolean;
  virtual?: boolean;
  virtualType?: string;
  virtualOwner?: string;
  macAddress?: string;
}

/** The parts of a `systemd.services.<name>` that tie a guest to its tap. */
export interface EvaluatedService {
  user: string | null;
  group: string | null;
  after: string[];
  bindsTo: string[];
  partOf: string[];
  requires: string[];
  wants: string[];
  script: string;
}

/** The evaluated network-related configuration of one host module. */
export interface HostNetwork {
  bridges: Record<string, { interfaces: string[] }>;
  interfaces: Record<string, EvaluatedInterface>;
  users: Record<string, { isSystemUser?: boolean; group?: string; extraGroups?: string[] }>;
  groups: Record<string, unknown>;
  services: Record<string, EvaluatedService>;
}

/** Evaluates `nixosModules.<host>` of the flake in `dir` with real Nix. */
export function evaluateHostNetwork(dir: string, host: string): HostNetwork {
  return evalJson<HostNetwork>(`
    let
      outputs = ${flakeOutputs(dir)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      config = (nixpkgs.lib.nixosSystem { modules = [ outputs.nixosModules.${host} ]; }).config;
    in
    {
      inherit (config.networking) bridges interfaces;
      inherit (config.users) users groups;
      services = builtins.mapAttrs (_: s: {
        user = s.serviceConfig.User or null;
        group = s.serviceConfig.Group or null;
        after = s.after or [ ];
        bindsTo = s.bindsTo or [ ];
        partOf = s.partOf or [ ];
        requires = s.requires or [ ];
        wants = s.wants or [ ];
        script = s.script or "";
      }) config.systemd.services;
    }`);
}
