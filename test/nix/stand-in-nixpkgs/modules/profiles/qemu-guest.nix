# Stand-in for nixpkgs' profiles/qemu-guest.nix (virtio drivers in the initrd).
{ ... }:
{
  boot.initrd.availableKernelModules = [
    "virtio_net"
    "virtio_pci"
    "virtio_blk"
  ];
}
