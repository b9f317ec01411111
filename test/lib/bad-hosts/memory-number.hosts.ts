// Bad input: memory number.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: { alice: { memory: 1024, disk: "40G" } },
    },
  },
};
