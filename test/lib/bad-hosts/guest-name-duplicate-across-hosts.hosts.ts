// Bad input: guest name duplicate across hosts.
export default {
  hosts: {
    study: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: { alice: { memory: "1G", disk: "4G" } },
    },
    lab: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: { alice: { memory: "1G", disk: "4G" } },
    },
  },
};
