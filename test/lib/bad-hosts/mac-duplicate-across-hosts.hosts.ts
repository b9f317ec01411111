// Bad input: mac duplicate across hosts.
export default {
  hosts: {
    study: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: { alice: { memory: "1G", disk: "4G", mac: "52:54:00:00:00:01" } },
    },
    lab: {
      lan: { nic: "eth0", bridge: "br0" },
      stateVersion: "26.05",
      guests: { bob: { memory: "1G", disk: "4G", mac: "52:54:00:00:00:01" } },
    },
  },
};
