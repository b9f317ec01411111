// Bad input: memory not whole mib.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: { alice: { memory: "131073K", disk: "40G" } },
    },
  },
};
