// Bad input: vnc duplicate.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "4G", vnc: 1 },
        bob: { memory: "1G", disk: "4G", vnc: 1 },
      },
    },
  },
};
