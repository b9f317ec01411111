// Bad input: every kind of NIC problem at once: an unknown network, the first NIC's tap given
// twice, a lease on the LAN and on a host-only network, a lease outside the subnet, on the host's
// .1 and on the broadcast address, a multicast MAC, a tap that is the host's NIC or a network's
// bridge, a missing network, a NIC that is not an object, an empty list, and two NICs with the
// same tap and MAC.
export default {
  hosts: {
    study: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      networks: {
        nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" },
        lab: { kind: "hostOnly", bridge: "vlab0" },
      },
      guests: {
        a: {
          memory: "1G",
          disk: "4G",
          tap: "t0",
          nics: [
            { network: "nope", tap: "t1" },
            { network: "lan", ipv4: "10.0.0.4" },
            { network: "lab", ipv4: "10.0.0.5" },
            { network: "nat", ipv4: "10.78.0.5" },
            { network: "nat", ipv4: "10.77.0.1" },
            { network: "nat", ipv4: "10.77.0.255" },
            { network: "nat", tap: "eno1", mac: "01:00:00:00:00:00" },
            { network: "nat", tap: "vlab0" },
            { tap: "t9" },
            "nat",
          ],
        },
        b: { memory: "1G", disk: "4G", nics: [] },
        c: {
          memory: "1G",
          disk: "4G",
          nics: [
            { network: "nat", tap: "same0", mac: "52:54:00:00:00:01" },
            { network: "lan", tap: "same0", mac: "52:54:00:00:00:01" },
          ],
        },
      },
    },
  },
};
