// Bad input: typo memroy.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: { alice: { memroy: "1G", disk: "40G" } },
    },
  },
};
