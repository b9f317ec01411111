/**
 * Deploy targets in `flake.nix`, for the engines people already use, with no input of theirs:
 * `colmena` (a hive description for `colmena.lib.makeHive`) and `lib.deployNodes` (the
 * `deploy.nodes` of deploy-rs, given the user's deploy-rs input). Every guest is a node, reached at
 * its static address or else its name, tagged with its host's name; a host joins only with its own
 * configuration, which this flake does not hold.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding } from "../../dsl/index.ts";
import type { ResolvedGuest, ResolvedHost, ResolvedSpec } from "../model.ts";
import { guestModulePath } from "./paths.ts";

const self = n.ref("self");
const nixpkgs = n.ref("nixpkgs");

/** Where a guest is reached: its first static address, else its name (DNS or ssh_config). */
export function guestTarget(g: ResolvedGuest): string {
  return g.ipv4?.addresses[0]?.address ?? g.name;
}

/** Where a host is reached: its static address on the LAN, else its name. */
export function hostTarget(h: ResolvedHost): string {
  return h.lan.address === "dhcp" ? h.name : (h.lan.address.addresses[0]?.address ?? h.name);
}

/** The two outputs, after the others in `flake.nix`. */
export function deployOutputs(spec: ResolvedSpec): NixBinding[] {
  const host = spec.hosts[0]!.name;
  return [
    n.bind("colmena", colmena(spec), {
      comment: [
        "Deploy targets for colmena: `colmenaHive = colmena.lib.makeHive vms.colmena;`. A host joins",
        `with its own configuration: \`colmena.lib.makeHive (vms.colmena { hosts.${host} = ./${host}.nix; })\`.`,
      ],
    }),
    n.bind(["lib", "deployNodes"], deployNodes(spec), {
      comment: [
        "Deploy targets for deploy-rs: `deploy.nodes = vms.lib.deployNodes { inherit deploy-rs; };`.",
        `A host joins with its own system: \`hosts.${host} = self.nixosConfigurations.${host};\`.`,
      ],
    }),
  ];
}

const HOSTS_PARAM = { formals: [["hosts", {}]] as const };

function deployment(targetHost: string, host: string): n.NixExpr {
  return n.attrs([n.bind("targetHost", targetHost), n.bind("tags", [host])]);
}

/** `{ hosts ? { } }: hive`; makeHive calls a function hive with `{ }`, so guests only. */
function colmena(spec: ResolvedSpec): n.NixExpr {
  const systems = [...new Set(spec.hosts.map((h) => h.system))];
  const defaultSystem = systems[0]!;
  const pkgsFor = (system: string): n.NixExpr => n.call(n.v("import"), nixpkgs, { system });
  const meta: NixBinding[] = [n.bind(["meta", "nixpkgs"], pkgsFor(defaultSystem))];
  const nodes: NixBinding[] = [];
  for (const h of spec.hosts) {
    if (h.system !== defaultSystem) {
      for (const name of [h.name, ...h.guests.map((g) => g.name)]) {
        meta.push(n.bind(["meta", "nodeNixpkgs", name], pkgsFor(h.system)));
      }
    }
    for (const g of h.guests) {
      nodes.push(
        n.bind(
          g.name,
          n.attrs([
            n.bind("imports", [n.path(`./${guestModulePath(h.name, g.name)}`)]),
            n.bind("deployment", deployment(guestTarget(g), h.name)),
          ]),
        ),
      );
    }
  }
  const configuration = n.v("configuration");
  const hostNodes = spec.hosts.map((h) =>
    n.bind(
      h.name,
      n.lambda(
        "configuration",
        n.attrs([
          n.bind("imports", [n.select(self, "nixosModules", h.name), configuration]),
          n.bind("deployment", deployment(hostTarget(h), h.name)),
          n.bind(["networking", "hostName"], n.call(nixpkgs.lib.mkDefault, h.name), {
            comment: "The node's name, unless the host's own configuration says otherwise.",
          }),
        ]),
      ),
    ),
  );
  return n.lambda(
    HOSTS_PARAM,
    n.let_(
      [
        n.bind("hostNodes", n.attrs(hostNodes), {
          comment: "vmflake's part of each host, joined to the configuration given for it.",
        }),
      ],
      n.op(
        n.attrs([...meta, ...nodes]),
        "//",
        n.builtins.mapAttrs(
          n.lambda("name", n.select(n.v("hostNodes"), n.v("name"))),
          n.v("hosts"),
        ),
      ),
    ),
  );
}

/** `{ deploy-rs, hosts ? { } }: nodes`, each with the `system` profile of its NixOS system. */
function deployNodes(spec: ResolvedSpec): n.NixExpr {
  const nixos = n.v("nixos");
  const system = n.select(nixos, "pkgs", "stdenv", "hostPlatform", "system");
  const node = n.lambda(
    "hostname",
    n.lambda(
      "nixos",
      n.attrs([
        n.inherit(["hostname"]),
        n.bind("sshUser", "root"),
        n.bind(["profiles", "system"], {
          user: "root",
          path: n.call(n.select(n.v("deploy-rs"), "lib", system, "activate", "nixos"), nixos),
        }),
      ]),
    ),
  );
  const nodes: NixBinding[] = [];
  for (const h of spec.hosts) {
    for (const g of h.guests) {
      nodes.push(
        n.bind(
          g.name,
          n.call(n.v("node"), guestTarget(g), n.select(self, "nixosConfigurations", g.name)),
        ),
      );
    }
  }
  const hostnames = spec.hosts.map((h) => n.bind(h.name, hostTarget(h)));
  return n.lambda(
    { formals: ["deploy-rs", ["hosts", {}]] },
    n.let_(
      [
        n.bind("node", node),
        n.bind("hostnames", n.attrs(hostnames), { comment: "Where each host is reached." }),
      ],
      n.op(
        n.attrs(nodes),
        "//",
        n.builtins.mapAttrs(
          n.lambda("name", n.call(n.v("node"), n.select(n.v("hostnames"), n.v("name")))),
          n.v("hosts"),
        ),
      ),
    ),
  );
}
