// Bad input: ssh key bad base64.
export default {
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      sshKeys: ["ssh-ed25519 AAAA!!!! x@y"],
      guests: {},
    },
  },
};
