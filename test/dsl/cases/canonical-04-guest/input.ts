import * as n from "../../../../dsl/index.ts";

const modulesPath = n.ref("modulesPath");

export default {
  body: n.module(
    ["modulesPath", "lib"],
    n.attrs([
      n.bind("imports", [n.op(modulesPath, "+", "/profiles/qemu-guest.nix")]),
      n.bind(["networking", "hostName"], "alice"),
      n.bind(["boot", "loader", "grub", "device"], "/dev/disk/by-id/virtio-alice-root"),
      n.bind(["boot", "kernelParams"], ["console=ttyS0"]),
      n.bind(["boot", "growPartition"], true),
      n.bind(["fileSystems", "/"], {
        device: "/dev/disk/by-label/nixos",
        fsType: "ext4",
        autoResize: true,
      }),
      n.bind(["services", "openssh", "enable"], true),
      n.bind(["services", "openssh", "settings", "PasswordAuthentication"], false),
      n.bind(
        ["users", "users", "root", "openssh", "authorizedKeys", "keys"],
        [
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon",
        ],
      ),
      n.bind(["system", "stateVersion"], "26.05"),
    ]),
  ),
};
