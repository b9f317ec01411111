// Bad input: two guests declare the same fixed address on a NAT network.
export default {
  hosts: {
    study: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      networks: { nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" } },
      guests: {
        a: { memory: "1G", disk: "4G", nics: [{ network: "nat", ipv4: "10.77.0.10" }] },
        b: {
          memory: "1G",
          disk: "4G",
          nics: [{ network: "lan" }, { network: "nat", ipv4: "10.77.0.10" }],
        },
      },
    },
  },
};
