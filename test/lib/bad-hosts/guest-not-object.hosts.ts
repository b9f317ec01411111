// Bad input: guest not object.
export default {
  hosts: { study: { lan: { nic: "enp0s31f6", bridge: "vbridge0" }, guests: { alice: "1G" } } },
};
