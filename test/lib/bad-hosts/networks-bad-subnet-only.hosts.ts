// Bad input: two NAT networks whose only problem is the subnet (a prefix length out of range,
// host bits set), with guests asking for leases on them. Whether those lie inside the subnet, on
// its ends or on the host's address cannot be known until the subnet is fixed, so nothing is
// said of them, nor of the leases to assign.
export default {
  hosts: {
    study: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      networks: {
        nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/33" },
        bits: { kind: "nat", bridge: "vbits0", subnet: "10.78.0.5/24" },
      },
      guests: {
        a: {
          memory: "1G",
          disk: "4G",
          nics: [
            { network: "nat", ipv4: "10.77.0.1" },
            { network: "nat", ipv4: "10.99.0.5" },
            { network: "bits", ipv4: "10.78.0.255" },
            { network: "bits", ipv4: "10.79.0.5" },
            { network: "bits" },
          ],
        },
      },
    },
  },
};
