// Bad input: every kind of network problem at once: a network called lan, a bridge that is the
// LAN's NIC, a public subnet, host bits, an unknown kind without a bridge, a field of the other
// kind, a network address for the host, an uppercase name, a 23-character bridge, an overlap with
// the LAN's static address, and two networks on one bridge.
export default {
  hosts: {
    study: {
      lan: {
        nic: "eno1",
        bridge: "br0",
        address: { addresses: ["10.77.0.5/16"], gateway: "10.77.0.1" },
      },
      stateVersion: "26.05",
      networks: {
        lan: { kind: "nat", bridge: "eno1", subnet: "10.77.1.0/24" },
        public: { kind: "nat", bridge: "vpub0", subnet: "8.8.8.0/24" },
        bits: { kind: "nat", bridge: "vbits0", subnet: "10.1.2.3/24" },
        odd: { kind: "bridged" },
        mixed: { kind: "hostOnly", bridge: "vmix0", address: "192.168.1.0/24", subnet: "x" },
        Upper: { kind: "hostOnly", bridge: "a-very-long-bridge-name" },
        one: { kind: "nat", bridge: "vsame0", subnet: "172.16.0.0/24" },
        two: { kind: "hostOnly", bridge: "vsame0", address: "172.16.0.200/25" },
        tiny: { kind: "nat", bridge: "vtiny0", subnet: "192.168.9.0/31" },
      },
      guests: {},
    },
  },
};
