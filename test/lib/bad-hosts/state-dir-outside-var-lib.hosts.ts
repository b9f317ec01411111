// Bad input: state dir outside var lib.
export default {
  hosts: {
    study: { lan: { nic: "enp0s31f6", bridge: "vbridge0" }, stateDir: "/srv/vms", guests: {} },
  },
};
