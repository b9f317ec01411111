// Bad input: mac multicast.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: { alice: { memory: "1G", disk: "4G", mac: "01:00:5e:00:00:01" } },
    },
  },
};
