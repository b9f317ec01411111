/**
 * `modules/<host>.nix`: the values of one host. It imports the runtime (`modules/vmflake/`, the
 * same text for every hosts file) and sets `vmflake.*` to literals resolved at build time — the
 * bridge, and per guest its memory, disk bytes, tap, MAC, VNC and timeouts. The runtime turns
 * them into users, taps and units; see docs/design.md.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding, NixFile } from "../../dsl/index.ts";
import type { ResolvedGuest, ResolvedHost } from "../model.ts";
import { hostDiskAndShareBindings } from "./disks-and-shares.ts";
import { guestNics, networks } from "./networks.ts";
import { generatedHeader } from "./header.ts";
import { iommuBindings, passthroughBindings } from "./passthrough.ts";

/** The runtime's defaults; values equal to them are left out of the host's file. */
const RUNTIME_DEFAULTS = {
  vncAddress: "127.0.0.1",
  user: (guest: string) => `vm-${guest}`,
  stateDir: (host: ResolvedHost, guest: string) => `${host.stateDir}/${guest}`,
};

/**
 * The host's module; `allHosts` (every host of the description) lets `vms` name the host of a
 * guest that is not this one's.
 */
export function hostModuleFile(
  host: ResolvedHost,
  source: string,
  allHosts: readonly ResolvedHost[] = [host],
): NixFile {
  const values: NixBinding[] = [
    n.bind("enable", true),
    n.bind("hostName", host.name),
    n.bind("stateDir", host.stateDir),
    n.bind("lan", n.attrs(lan(host)), {
      comment: [
        "The NIC and every guest's tap become ports of the bridge, and the host's address moves",
        "to the bridge. Applying this over ssh through that NIC cuts the connection: use a",
        "console, or `nixos-rebuild test` with a way back.",
      ],
    }),
    ...iommuBindings(host),
    ...networks(host),
    n.bind("guests", n.attrs(host.guests.map((g) => n.bind(g.name, n.attrs(guest(host, g)))))),
  ];
  const others = allHosts
    .filter((h) => h.name !== host.name)
    .flatMap((h) => h.guests.map((g) => n.bind(g.name, h.name)));
  if (others.length > 0) {
    values.push(
      n.bind(["hostCommand", "otherGuests"], n.attrs(others), {
        comment: "The other hosts' guests, so that `vms` can say where each one runs.",
      }),
    );
  }
  return {
    comment: generatedHeader(source, `host ${host.name}`),
    body: n.attrs([n.bind("imports", [n.path("./vmflake")]), n.bind("vmflake", n.attrs(values))]),
  };
}

function lan(host: ResolvedHost): NixBinding[] {
  const { nic, bridge, address, bridgeMac, bypassHostFirewall } = host.lan;
  const out = [n.bind("nic", nic), n.bind("bridge", bridge)];
  if (address !== "dhcp") {
    out.push(
      n.bind("ipv4", {
        addresses: address.addresses.map((a) => ({
          address: a.address,
          prefixLength: a.prefixLength,
        })),
        gateway: address.gateway,
        nameservers: [...address.dns],
      }),
    );
  }
  if (bridgeMac !== undefined) {
    out.push(
      n.bind("bridgeMac", bridgeMac, {
        comment: "Fixed, so the host's DHCP reservation survives the move to the bridge.",
      }),
    );
  }
  if (!bypassHostFirewall) {
    out.push(
      n.bind("bypassHostFirewall", false, {
        comment: "Bridged guest traffic goes through the host's iptables (br_netfilter).",
      }),
    );
  }
  return out;
}

function guest(host: ResolvedHost, g: ResolvedGuest): NixBinding[] {
  const out: NixBinding[] = [];
  if (!g.autostart) out.push(n.bind("autostart", false));
  if (g.user !== RUNTIME_DEFAULTS.user(g.name)) out.push(n.bind("user", g.user));
  if (g.stateDir !== RUNTIME_DEFAULTS.stateDir(host, g.name)) {
    out.push(n.bind("stateDir", g.stateDir));
  }
  out.push(
    n.bind("memoryMiB", g.memoryMiB),
    n.bind("cpus", g.cpus),
    n.bind("diskBytes", g.diskBytes),
    n.bind("tap", g.tap),
    n.bind("mac", g.mac),
    ...guestNics(g),
  );
  if (g.vnc !== undefined) {
    out.push(n.bind(["vnc", "display"], g.vnc.display));
    if (g.vnc.address !== RUNTIME_DEFAULTS.vncAddress) {
      out.push(
        n.bind(["vnc", "address"], g.vnc.address, {
          comment: "VNC has no password: anyone who reaches this address gets the console.",
        }),
      );
    }
  }
  if (g.firmware !== "bios") {
    out.push(
      n.bind("firmware", g.firmware, {
        comment:
          "Fixed at install: a guest declared with other firmware than its image's refuses to start.",
      }),
    );
  }
  if (g.tpm) out.push(n.bind("tpm", true));
  if (!g.memoryBalloon) out.push(n.bind("memoryBalloon", false));
  out.push(
    n.bind("shutdownTimeout", g.shutdownTimeout),
    n.bind(["install", "timeout"], g.install.timeoutSeconds),
  );
  if (g.install.offline) {
    out.push(
      n.bind(["install", "offline"], true, {
        comment: "Its system is carried in the installer ISO: installed with no network.",
      }),
    );
  }
  out.push(...passthroughBindings(g));
  out.push(...hostDiskAndShareBindings(g));
  return out;
}
