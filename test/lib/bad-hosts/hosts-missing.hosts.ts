// Bad input: hosts missing.
export default { nixpkgs: "github:NixOS/nixpkgs/nixos-26.05" };
