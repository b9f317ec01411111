/**
 * The flake's deploy targets (`colmena`, `lib.deployNodes`) evaluated by real Nix against the
 * stand-in nixpkgs: which nodes there are, where each is reached, its tags, and how a host joins.
 * Only the targets' own attributes are read, never a system; test/nixos/deploy-targets.test.ts
 * hands the same outputs to the real colmena and deploy-rs.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildFlake, removeBuiltFlakes } from "../nixos/support.ts";
import { evalJson, flakeOutputs, nixRun } from "../support/nix.ts";
import { describeWith } from "../support/tools.ts";

describeWith(["nix-instantiate"], "deploy targets in the flake (stand-in nixpkgs)", () => {
  let out = "";
  beforeAll(async () => {
    out = (
      await buildFlake({
        hosts: {
          study: {
            lan: { nic: "enp0s31f6", bridge: "vbridge0" },
            stateVersion: "26.05",
            guests: {
              alice: { memory: "1G", disk: "4G" },
              bob: {
                memory: "1G",
                disk: "4G",
                ipv4: { addresses: ["192.168.1.20/24", "192.168.1.21/24"], gateway: "192.168.1.1" },
              },
            },
          },
          lab: {
            system: "aarch64-linux",
            lan: {
              nic: "eno1",
              bridge: "br0",
              address: { addresses: ["10.0.0.2/24"], gateway: "10.0.0.1" },
            },
            stateVersion: "26.05",
            guests: { carol: { memory: "512M", disk: "4G" } },
          },
        },
      })
    ).dir;
  });
  afterAll(removeBuiltFlakes);

  const evalIn = <T>(body: string): T => evalJson<T>(`let o = ${flakeOutputs(out)}; in ${body}`);

  it("colmena: a node per guest at its first static address or its name, tagged with its host; nixpkgs per system", () => {
    const v = evalIn<Record<string, unknown>>(`let hive = o.colmena { }; in {
      names = builtins.attrNames hive;
      deployment = builtins.mapAttrs (_: n: n.deployment) (removeAttrs hive [ "meta" ]);
      imports = builtins.mapAttrs (_: n: map toString n.imports) (removeAttrs hive [ "meta" ]);
      nodeNixpkgs = builtins.attrNames hive.meta.nodeNixpkgs;
    }`);
    expect(v.names).toEqual(["alice", "bob", "carol", "meta"]);
    expect(v.deployment).toEqual({
      alice: { targetHost: "alice", tags: ["study"] },
      bob: { targetHost: "192.168.1.20", tags: ["study"] },
      carol: { targetHost: "carol", tags: ["lab"] },
    });
    expect(v.imports).toEqual({
      alice: [join(out, "modules/study/alice.nix")],
      bob: [join(out, "modules/study/bob.nix")],
      carol: [join(out, "modules/lab/carol.nix")],
    });
    // The first host's system is meta.nixpkgs; the other system's nodes get their own.
    expect(v.nodeNixpkgs).toEqual(["carol", "lab"]);
  });

  it("colmena: a host joins with its own configuration, after vmflake's module of it", () => {
    const v = evalIn<Record<string, unknown>>(`let
      mine = { networking.hostName = "study-1"; };
      node = (o.colmena { hosts.lab = mine; }).lab;
    in {
      names = builtins.attrNames (o.colmena { hosts.lab = mine; });
      inherit (node) deployment;
      imports = [ ((builtins.elemAt node.imports 0).key) ((builtins.elemAt node.imports 1) == mine) ];
    }`);
    expect(v).toEqual({
      names: ["alice", "bob", "carol", "lab", "meta"],
      deployment: { targetHost: "10.0.0.2", tags: ["lab"] },
      imports: ["vmflake#nixosModules.lab", true],
    });
  });

  it("colmena: a host the flake does not hold is an error naming it", () => {
    expect(() => evalIn(`(o.colmena { hosts.nope = { }; }).nope.deployment`)).toThrow(
      /attribute 'nope' missing/,
    );
  });

  it("deploy-rs: nodes for root over ssh at the same addresses; a host joins with its system", () => {
    // Stands in for deploy-rs's flake: only where its lib is looked up matters here.
    const deployRs = `{ lib = { }; }`;
    const v = evalIn<Record<string, unknown>>(`let
      nodes = o.lib.deployNodes { deploy-rs = ${deployRs}; hosts.study = o.nixosConfigurations.alice; };
    in builtins.mapAttrs (_: n: { inherit (n) hostname sshUser; inherit (n.profiles.system) user; }) nodes`);
    expect(v).toEqual({
      alice: { hostname: "alice", sshUser: "root", user: "root" },
      bob: { hostname: "192.168.1.20", sshUser: "root", user: "root" },
      carol: { hostname: "carol", sshUser: "root", user: "root" },
      study: { hostname: "study", sshUser: "root", user: "root" },
    });
    expect(() =>
      nixRun("nix-instantiate", [
        "--eval",
        "-E",
        `(let o = ${flakeOutputs(out)}; in (o.lib.deployNodes { deploy-rs = { }; hosts.nope = null; }).nope.hostname)`,
      ]),
    ).toThrow(/attribute 'nope' missing/);
  });
});
