// Bad input: many problems at once.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      guests: {
        alice: { memory: "lots", disk: "0G", cpus: 0, vnc: -1, tap: "", mac: "x", colour: "blue" },
      },
    },
  },
};
