# A STAND-IN for nixpkgs, for vmflake's tests only. A full nixpkgs cannot be fetched on the test
# machines, so this provides just what the generated flake uses, built from the machine's own
# Debian tools:
#   lib.nixosSystem   a small module system (options and types, mkIf/mkMerge/priorities, submodules,
#                     utils.escapeSystemdExecArgs); paths NixOS declares and this stand-in does not
#                     (systemd.services, users.users …) merge freeform. lib.nix says what it
#                     implements and where it differs from nixpkgs.
#   lib.*             the small functions the flake and its runtime module use, as in nixpkgs
#   legacyPackages.<system>.{writeShellApplication, runCommand, qemu_kvm, qemu-utils, socat,
#                            coreutils, jq, iproute2, openssh, nixfmt}
# writeShellApplication runs the real shellcheck at build time, like nixpkgs does. qemu_kvm is
# a wrapper that swaps KVM for TCG, because test machines have no /dev/kvm.
# For the installer: modules/installer/cd-dvd/installation-cd-minimal.nix and the
# packages in installer-packages.nix; `bootableIso` is a stand-in installer ISO built by a test.
# Real NixOS evaluation happens in the tests' NIXPKGS tier against a real nixpkgs checkout.
{
  hostBin ? "/usr/bin",
  qemuTcg ? ../../support/qemu-kit/qemu-tcg,
  bootableIso ? null,
}:
let
  system = "x86_64-linux";
  pkgs =
    import ./packages.nix { inherit system hostBin qemuTcg; }
    // import ./installer-packages.nix { inherit system hostBin bootableIso; };
  lib = import ./lib.nix { inherit pkgs; };
in
{
  inherit lib;
  legacyPackages.${system} = pkgs;
  outPath = ./.;
}
