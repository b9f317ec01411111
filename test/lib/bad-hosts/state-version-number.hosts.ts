// Bad input: state versions as numbers, not strings.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: 26.11,
      guests: { alice: { memory: "1G", disk: "4G", stateVersion: 26.05 } },
    },
  },
};
