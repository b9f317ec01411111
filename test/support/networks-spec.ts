/**
 * The description of the networks' README section, shared by the tests that evaluate it (with
 * the stand-in nixpkgs and with the real one): a host-only and a NAT network; a guest with a NIC
 * on the LAN and one on the host-only network; a multi-CPU guest with a fixed lease on the NAT
 * network.
 */
import type { HostsSpec } from "../../lib/index.ts";

export const NETWORKS_SPEC = {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      networks: {
        lab: { kind: "hostOnly", bridge: "vlab0" },
        nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" },
      },
      guests: {
        alice: { memory: "1G", disk: "40G", nics: [{ network: "lan" }, { network: "lab" }] },
        build: {
          memory: "8G",
          disk: "80G",
          cpus: 8,
          nics: [{ network: "nat", ipv4: "10.77.0.10" }],
        },
      },
    },
  },
} as const satisfies HostsSpec;
