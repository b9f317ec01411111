// Bad input: a NAT network with a prefix length out of range, an over-long bridge and a field it
// has no use for; leases on it that are not addresses (a bad quad, a number) and one asked for
// twice, by a guest that has a problem of its own too; a network whose unparseable subnet sits on
// the LAN's bridge, shared with a valid network that is asked for a lease outside its subnet; a
// host-only network with a public address whose bridge a guest uses as its tap and which is asked
// for a lease; a network of unknown kind without a bridge. Each is independent of the others, so
// all are reported in one run.
export default {
  hosts: {
    study: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      networks: {
        nat: { kind: "nat", bridge: "vnat-much-too-long", subnet: "10.77.0.0/33", dhpc: true },
        side: { kind: "nat", bridge: "br0", subnet: "10.78.0/24" },
        twin: { kind: "nat", bridge: "br0", subnet: "10.88.0.0/24" },
        lab: { kind: "hostOnly", bridge: "vlab0", address: "8.8.8.1/24" },
        odd: { kind: "bridged", subnet: "10.99.0.0/24" },
      },
      guests: {
        a: {
          memory: "1G",
          disk: "4G",
          nics: [
            { network: "nat", ipv4: "10.77.0.300" },
            { network: "nat", ipv4: 10 },
            { network: "nat", ipv4: "10.77.0.10" },
            { network: "lab", ipv4: "8.8.8.10" },
            { network: "twin", tap: "vlab0", ipv4: "10.89.0.5" },
          ],
        },
        b: { memory: "1gb", disk: "4G", nics: [{ network: "nat", ipv4: "10.77.0.10" }] },
      },
    },
  },
};
