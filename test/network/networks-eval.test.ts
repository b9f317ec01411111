/**
 * Host-only and NAT networks and several NICs per guest, from the emitted flake evaluated by real
 * Nix (the stand-in nixpkgs' module system): what networks.nix and default.nix make of the
 * values `modules/<host>.nix` sets. The description is the one of the networks' README section:
 * a guest with a NIC on the LAN and one on a host-only network, a multi-CPU guest with a fixed
 * lease on a NAT network, and a guest whose lease is picked from its name.
 */
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import type { ResolvedGuest } from "../../lib/index.ts";
import { NETWORKS_SPEC } from "../support/networks-spec.ts";
import { evalJson, flakeOutputs, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { evaluateHostNetwork, writeFlake, type HostNetwork } from "./support/host-network.ts";

/** The README's description, plus a guest whose lease is picked from its name and one without nics. */
const SPEC = {
  hosts: {
    study: {
      ...NETWORKS_SPEC.hosts.study,
      guests: {
        ...NETWORKS_SPEC.hosts.study.guests,
        carol: { memory: "1G", disk: "4G", nics: [{ network: "nat" }, { network: "lab" }] },
        dave: { memory: "1G", disk: "4G" },
      },
    },
  },
};

interface Evaluated {
  dnsmasq: {
    enable: boolean;
    resolveLocalQueries: boolean;
    settings: Record<string, unknown>;
  };
  nat: { enable: boolean; internalInterfaces: string[]; externalInterface: string };
  firewall: Record<string, unknown>;
  extraCommands: string;
  extraStopCommands: string;
  denied: string[];
  addresses: Record<string, unknown>;
  failedAssertions: string[];
}

describeWith(
  ["nix-instantiate", "nix-build"],
  "networks and NICs in the evaluated host module",
  () => {
    let guests: readonly ResolvedGuest[];
    let net: HostNetwork;
    let v: Evaluated;
    const byName = (n: string) => guests.find((g) => g.name === n)!;

    beforeAll(() => {
      const dir = join(tempDir(), "flake");
      guests = writeFlake(SPEC, dir).hosts[0]!.guests;
      net = evaluateHostNetwork(
        dir,
        "study",
        guests.map((g) => g.name),
      );
      v = evalJson<Evaluated>(`
      let
        outputs = ${flakeOutputs(dir)};
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
        c = (nixpkgs.lib.nixosSystem { modules = [ outputs.nixosModules.study ]; }).config;
      in {
        dnsmasq = { inherit (c.services.dnsmasq) enable resolveLocalQueries settings; };
        nat = c.networking.nat;
        firewall = c.networking.firewall.interfaces;
        inherit (c.networking.firewall) extraCommands extraStopCommands;
        denied = c.networking.dhcpcd.denyInterfaces;
        addresses = { inherit (c.networking.interfaces) vlab0 vnat0; };
        failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
      }`);
    }, 300_000);

    it("resolves each NIC's tap, MAC and lease: declared, or picked from the subnet by name", () => {
      expect(byName("alice").nics.map((n) => [n.network, n.tap])).toEqual([
        ["lan", "vm-alice"],
        ["lab", "vm-alice-1"],
      ]);
      expect(byName("build").nics).toEqual([
        { network: "nat", tap: "vm-build", mac: byName("build").mac, ipv4: "10.77.0.10" },
      ]);
      const carol = byName("carol").nics;
      expect(carol[0]!.ipv4).toMatch(
        /^10\.77\.0\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$/,
      );
      expect(carol[0]!.ipv4).not.toBe("10.77.0.10");
      expect(carol[1]!.ipv4).toBeUndefined();
      const macs = guests.flatMap((g) => g.nics.map((n) => n.mac));
      expect(new Set(macs).size).toBe(macs.length);
      // Dave has no nics: exactly today's one NIC on the LAN.
      expect(byName("dave").nics).toEqual([
        { network: "lan", tap: "vm-dave", mac: byName("dave").mac },
      ]);
      expect(v.failedAssertions).toEqual([]);
    });

    it("each network is a bridge with no port of the host's; the NAT bridge has the host's .1, the host-only one no address", () => {
      expect(net.bridges).toEqual({
        vbridge0: { interfaces: ["enp0s31f6"] },
        vlab0: { interfaces: [] },
        vnat0: { interfaces: [] },
      });
      expect(net.interfaces).toMatchObject({
        vlab0: { useDHCP: false },
        vnat0: { useDHCP: false },
      });
      expect(v.addresses).toEqual({
        vlab0: { useDHCP: false, ipv4: { addresses: [] } },
        vnat0: {
          useDHCP: false,
          ipv4: { addresses: [{ address: "10.77.0.1", prefixLength: 24 }] },
        },
      });
      // dhcpcd leaves every tap and the networks' bridges alone.
      expect([...v.denied].sort()).toEqual(
        ["vlab0", "vnat0", ...guests.flatMap((g) => g.nics.map((n) => n.tap))].sort(),
      );
    });

    it("every NIC has its own tap unit on its network's bridge; a multi-CPU guest's taps are multi-queue", () => {
      for (const g of guests) {
        for (const nic of g.nics) {
          const unit = net.services[`vmflake-tap-${nic.tap}`]!;
          const bridge = { lan: "vbridge0", lab: "vlab0", nat: "vnat0" }[nic.network]!;
          expect(unit.execStart.slice(1), nic.tap).toEqual([
            "up",
            nic.tap,
            `vm-${g.name}`,
            `fe${nic.mac.slice(2)}`,
            bridge,
            ...(g.cpus > 1 ? ["multi-queue"] : []),
          ]);
          expect(unit.wants).toEqual([`sys-subsystem-net-devices-${bridge}.device`]);
          expect(unit.after).toEqual(expect.arrayContaining([`${bridge}-netdev.service`]));
        }
      }
      // Each bridge's unit takes back exactly the taps on it.
      const attach = (b: string) => net.services[`${b}-netdev`]!.execStartPost.slice(1);
      expect(attach("vbridge0")).toEqual(["attach", "vbridge0", "vm-alice", "vm-dave"]);
      expect(attach("vlab0")).toEqual(["attach", "vlab0", "vm-alice-1", "vm-carol-1"]);
      expect(attach("vnat0")).toEqual(["attach", "vnat0", "vm-build", "vm-carol"]);
    });

    it("a guest's unit requires all its taps' units; QEMU gets its NICs in order, multiqueue with cpus > 1", () => {
      const carol = net.services["qemu-guest-carol"]!;
      expect(carol.requires).toEqual([
        "vmflake-tap-vm-carol.service",
        "vmflake-tap-vm-carol-1.service",
        "qemu-guest-carol-install.service",
      ]);
      expect(carol.after).toEqual([
        "network.target",
        "vmflake-tap-vm-carol.service",
        "vmflake-tap-vm-carol-1.service",
        "vnat0-netdev.service",
        "vlab0-netdev.service",
        "qemu-guest-carol-install.service",
      ]);
      const nics = (g: string) => {
        const argv = net.services[`qemu-guest-${g}`]!.execStart;
        return argv.filter(
          (a, i) =>
            /^-(netdev|device)$/.test(argv[i - 1] ?? "") && /^(tap,|virtio-net-pci,)/.test(a),
        );
      };
      const c = byName("carol").nics;
      expect(nics("carol")).toEqual([
        `tap,id=net0,ifname=vm-carol,script=no,downscript=no,vhost=on`,
        `virtio-net-pci,netdev=net0,mac=${c[0]!.mac}`,
        `tap,id=net1,ifname=vm-carol-1,script=no,downscript=no,vhost=on`,
        `virtio-net-pci,netdev=net1,mac=${c[1]!.mac}`,
      ]);
      // 8 CPUs: 8 queues, 2 × 8 + 2 vectors.
      expect(nics("build")).toEqual([
        `tap,id=net0,ifname=vm-build,script=no,downscript=no,vhost=on,queues=8`,
        `virtio-net-pci,netdev=net0,mac=${byName("build").mac},mq=on,vectors=18`,
      ]);
      // The first NIC is where it always was, right after the devices every guest had before
      // (root disk, RNG, VGA with VNC); its second NIC follows it, and devices added since (the
      // balloon) come after both, so no existing PCI slot moves.
      const argv = net.services["qemu-guest-carol"]!.execStart;
      const drivers = argv.filter((_, i) => argv[i - 1] === "-device").map((a) => a.split(",")[0]);
      const first = drivers.indexOf("virtio-net-pci");
      expect(drivers.slice(0, first)).toEqual(["virtio-blk-pci", "virtio-rng-pci"]);
      expect(drivers.slice(first)).toEqual([
        "virtio-net-pci",
        "virtio-net-pci",
        "virtio-balloon-pci",
      ]);
    });

    it("dnsmasq serves DHCP with a fixed lease per MAC and DNS for guest names on the NAT bridge only", () => {
      expect(v.dnsmasq.enable).toBe(true);
      expect(v.dnsmasq.resolveLocalQueries).toBe(false);
      const carol = byName("carol").nics;
      expect(v.dnsmasq.settings).toEqual({
        interface: ["vnat0"],
        "except-interface": ["lo"],
        "bind-dynamic": true,
        "dhcp-range": ["10.77.0.0,static,255.255.255.0,12h"],
        "dhcp-host": [
          `${byName("build").mac},10.77.0.10,build`,
          `${carol[0]!.mac},${carol[0]!.ipv4},carol`,
        ],
        "dhcp-authoritative": true,
      });
    });

    it("NAT out through the LAN bridge; the firewall opens DHCP and DNS on the NAT bridge only; nothing is forwarded to or from the host-only bridge", () => {
      expect(v.nat).toEqual({
        enable: true,
        internalInterfaces: ["vnat0"],
        externalInterface: "vbridge0",
      });
      expect(v.firewall).toEqual({
        vnat0: { allowedUDPPorts: [53, 67], allowedTCPPorts: [53] },
      });
      expect(v.extraCommands.split("\n").filter(Boolean)).toEqual([
        "iptables -w -D FORWARD -i vlab0 ! -o vlab0 -j DROP 2>/dev/null || true",
        "iptables -w -D FORWARD -o vlab0 ! -i vlab0 -j DROP 2>/dev/null || true",
        "iptables -w -I FORWARD -i vlab0 ! -o vlab0 -j DROP",
        "iptables -w -I FORWARD -o vlab0 ! -i vlab0 -j DROP",
      ]);
      expect(v.extraStopCommands.split("\n").filter(Boolean)).toHaveLength(2);
    });
  },
);
