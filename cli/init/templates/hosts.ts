// Your hosts and the QEMU/KVM guests each one runs. `npx tsx build.ts`
// type-checks this file, validates it and writes the flake; your editor
// completes every field and shows its documentation on hover.
import { defineHosts } from "vmflake";

export default defineHosts({
  hosts: {
    // A NixOS machine, by its hostname. Its flake imports nixosModules.myhost.
    myhost: {
      // The NIC becomes a port of the bridge and the host's address moves to
      // the bridge (DHCP unless you set `address`): apply that from a console,
      // not over ssh through this NIC.
      lan: { nic: "enp1s0", bridge: "br0" },
      // Public ssh keys for root on every guest of this host, e.g. the line in
      // your ~/.ssh/id_ed25519.pub.
      sshKeys: [],
      guests: {
        // A guest, by its hostname (unique across all hosts). It starts with
        // the host and is installed on its first start.
        web: {
          memory: "2G",
          disk: "20G",
          // The NixOS release this guest was first installed with. Keep it
          // when you upgrade nixpkgs: it fixes the on-disk formats of stateful
          // services such as PostgreSQL.
          stateVersion: "26.05",
          // Its console, over VNC on 127.0.0.1:5901.
          vnc: 1,
        },
      },
    },
  },
});
