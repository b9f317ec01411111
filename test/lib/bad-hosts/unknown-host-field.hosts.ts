// Bad input: unknown host field.
export default {
  hosts: { study: { lan: { nic: "enp0s31f6", bridge: "vbridge0" }, sshkeys: [], guests: {} } },
};
