// Bad input: state dir dotdot.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateDir: "/var/lib/../etc",
      guests: {},
    },
  },
};
