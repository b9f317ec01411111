// Bad input: many problems at once.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        alice: { memory: "lots", disk: "0G", cpus: 0, vnc: -1, tap: "", mac: "x", colour: "blue" },
      },
    },
  },
};
