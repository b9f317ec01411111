// Bad input: a host and a guest named like colmena's own hive attributes.
export default {
  hosts: {
    defaults: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        meta: { memory: "1G", disk: "4G" },
        network: { memory: "1G", disk: "4G" },
      },
    },
  },
};
