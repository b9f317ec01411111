// Bad input: memory huge.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: { alice: { memory: "99999T", disk: "40G" } },
    },
  },
};
