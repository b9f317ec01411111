// Bad input: static address bad.
export default {
  hosts: {
    study: {
      lan: {
        nic: "eth0",
        bridge: "br0",
        address: { addresses: ["192.168.1.300/24"], gateway: "192.168.1" },
      },
      guests: {},
    },
  },
};
