// Bad input: ssh key garbage.
export default {
  hosts: {
    study: { lan: { nic: "enp0s31f6", bridge: "vbridge0" }, sshKeys: ["not a key"], guests: {} },
  },
};
