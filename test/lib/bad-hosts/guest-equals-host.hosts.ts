// Bad input: guest equals host.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: { study: { memory: "1G", disk: "4G" } },
    },
  },
};
