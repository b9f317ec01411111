// Bad input: nixpkgs url injection.
export default {
  nixpkgs: 'github:NixOS/nixpkgs"; x = "${builtins.abort 1}',
  hosts: { study: { lan: { nic: "eth0", bridge: "br0" }, guests: {} } },
};
