/**
 * `modules/<host>/<guest>.nix`: the NixOS system a guest runs after its install. It stands alone:
 * `nixos-rebuild --flake .#<guest> --target-host …` redeploys it, and host rebuilds never touch it.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding, NixFile } from "../../dsl/index.ts";
import type { ResolvedGuest, ResolvedHost, ResolvedIPv4 } from "../model.ts";
import { GUEST_DISKS_MODULE, guestMountBindings } from "./disks-and-shares.ts";
import { bootLoader, tpmSupport } from "./guest-boot.ts";
import { generatedHeader } from "./header.ts";

export function guestSystemFile(host: ResolvedHost, guest: ResolvedGuest, source: string): NixFile {
  const modulesPath = n.ref("modulesPath");
  const imports: n.NixValue[] = [n.op(modulesPath, "+", "/profiles/qemu-guest.nix")];
  const mountsDisks = guest.disks.some((d) => d.mount !== undefined);
  if (mountsDisks) imports.push(n.path(GUEST_DISKS_MODULE));
  if (guest.config !== undefined) imports.push(guest.config);
  const bindings: NixBinding[] = [
    n.bind(
      "imports",
      imports,
      guest.config
        ? {
            comment: mountsDisks
              ? "The QEMU guest profile, vmflake's format guard of data disks, then this guest's own settings from the hosts file."
              : "The QEMU guest profile, then this guest's own settings from the hosts file.",
          }
        : {},
    ),
    n.bind(["nixpkgs", "hostPlatform"], host.system),
    n.bind(["networking", "hostName"], guest.name),
    ...bootLoader(guest),
    n.bind(["boot", "kernelParams"], ["console=ttyS0"], {
      comment: "The serial console is logged by the host to the guest's console.log.",
    }),
    n.bind(["boot", "growPartition"], true, {
      comment: "A disk grown in the hosts file is used after the next boot.",
    }),
    n.bind(["fileSystems", "/"], {
      device: "/dev/disk/by-label/nixos",
      fsType: "ext4",
      autoResize: true,
    }),
    ...guestMountBindings(guest),
    n.bind(["services", "openssh", "enable"], true),
    n.bind(["services", "openssh", "settings", "PasswordAuthentication"], false),
    n.bind(["services", "openssh", "settings", "KbdInteractiveAuthentication"], false),
    n.bind(["users", "users", "root", "openssh", "authorizedKeys", "keys"], [...guest.sshKeys]),
    ...tpmSupport(guest),
    ...network(guest),
    n.bind(["system", "stateVersion"], guest.stateVersion),
  ];
  return {
    comment: generatedHeader(source, `guest ${guest.name} of host ${host.name}`),
    body: n.module(moduleArgs(guest), n.attrs(bindings)),
  };
}

/** The module arguments the guest file uses: its own settings may refer to config, lib, pkgs. */
function moduleArgs(guest: ResolvedGuest): string[] {
  const used = guest.config === undefined ? new Set<string>() : n.freeVariables(guest.config);
  return [...["config", "lib", "pkgs"].filter((a) => used.has(a)), "modulesPath"];
}

function network(guest: ResolvedGuest): NixBinding[] {
  if (guest.ipv4 === undefined) return [n.bind(["networking", "useDHCP"], true)];
  const ip: ResolvedIPv4 = guest.ipv4;
  // Matched by MAC: the guest's interface name depends on the PCI layout, its MAC does not.
  return [
    n.bind(["networking", "useDHCP"], false),
    n.bind(["networking", "useNetworkd"], true),
    n.bind(["systemd", "network", "networks", "10-lan"], {
      matchConfig: { MACAddress: guest.mac },
      address: ip.addresses.map((a) => `${a.address}/${a.prefixLength}`),
      gateway: [ip.gateway],
      ...(ip.dns.length > 0 ? { dns: [...ip.dns] } : {}),
    }),
  ];
}
