// Bad input: state versions that are not release names; the host's wrong one is reported once,
// not again as missing in carol, who has none of her own.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.04",
      guests: {
        alice: { memory: "1G", disk: "4G", stateVersion: "2605" },
        bob: { memory: "1G", disk: "4G", stateVersion: "26.5" },
        carol: { memory: "1G", disk: "4G" },
        dave: { memory: "1G", disk: "4G", stateVersion: " 26.05" },
        erin: { memory: "1G", disk: "4G", stateVersion: "26.05.1" },
      },
    },
  },
};
