// Bad input: memory too small.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: { alice: { memory: "64M", disk: "40G" } },
    },
  },
};
