// Bad input: a guest named like another guest's install unit.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: {
        a: { memory: "1G", disk: "4G" },
        "a-install": { memory: "1G", disk: "4G" },
      },
    },
  },
};
