# Stand-in for nixpkgs' installer/cd-dvd/installation-cd-minimal.nix: only what
# vmflake's installer module uses. isoImage is a derivation with iso/<image.baseName>.iso (the
# bootable ISO the test built, when it gave one to default.nix, else a placeholder) and
# store-contents, the closures the real ISO carries in its squashfs (isoImage.storeContents).
{ config, pkgs, ... }:
{
  nix.package = pkgs.nix;
  system.build.nixos-install = pkgs.nixos-install;
  system.build.isoImage = derivation {
    name = "${config.image.baseName}-stand-in";
    system = "x86_64-linux";
    PATH = "/usr/bin:/bin";
    builder = "/bin/sh";
    fileName = "${config.image.baseName}.iso";
    bootable = if pkgs.standInBootableIso == null then "" else pkgs.standInBootableIso;
    storeContents = config.isoImage.storeContents or [ ];
    args = [
      "-c"
      ''
        mkdir -p $out/iso
        if [ -n "$bootable" ]; then
          ln -s "$bootable" "$out/iso/$fileName"
        else
          echo "stand-in installer ISO: not bootable" > "$out/iso/$fileName"
        fi
        for p in $storeContents; do echo "$p"; done > $out/store-contents
      ''
    ];
  };
}
