// Bad input: nixpkgs not url.
export default {
  nixpkgs: "nixos-26.05",
  hosts: { study: { lan: { nic: "eth0", bridge: "br0" }, guests: {} } },
};
