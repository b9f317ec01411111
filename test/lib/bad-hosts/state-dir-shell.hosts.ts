// Bad input: state dir shell.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      stateDir: "/var/lib/vms $(id)",
      guests: {},
    },
  },
};
