// Bad input: a guest without stateVersion on a host without one (bob sets his own and is fine).
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: {
        alice: { memory: "1G", disk: "4G" },
        bob: { memory: "1G", disk: "4G", stateVersion: "26.05" },
      },
    },
  },
};
