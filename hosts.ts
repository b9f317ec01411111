import { defineHosts } from "vmflake";

export default defineHosts({
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      sshKeys: [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon",
      ],
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" },
        bob: { memory: "1G", disk: "20G", vnc: 2, tap: "tap1" },
      },
    },
  },
});
