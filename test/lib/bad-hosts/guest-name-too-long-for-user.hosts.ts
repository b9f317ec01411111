// Bad input: guest name too long for user.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateVersion: "26.05",
      guests: { "a-guest-name-that-is-way-too-long": { memory: "1G", disk: "4G" } },
    },
  },
};
