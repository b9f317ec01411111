// Bad input: a guest's MAC equal to the bridge MAC given for a host on the same LAN.
export default {
  hosts: {
    study: {
      lan: { nic: "eth0", bridge: "br0", bridgeMac: "52:54:00:AA:BB:CC" },
      stateVersion: "26.05",
      guests: { alice: { memory: "1G", disk: "4G", mac: "52:54:00:aa:bb:cc" } },
    },
  },
};
