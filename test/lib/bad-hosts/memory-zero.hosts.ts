// Bad input: memory zero.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: { alice: { memory: "0M", disk: "40G" } },
    },
  },
};
