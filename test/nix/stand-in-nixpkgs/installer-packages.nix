# Stand-in packages for vmflake's installer, in the manner of packages.nix: thin
# derivations whose bin/ links to the test machine's own Debian tools. They are what the installer
# module names in runtimeInputs; the installer itself only runs inside the test's stand-in ISO.
{
  system,
  hostBin,
  bootableIso,
}:
let
  sh = "/bin/sh";
  path = "${hostBin}:/bin";
  hostSbin = "${dirOf hostBin}/sbin";
  # A package whose bin/ holds symlinks to the given absolute paths (they need not exist here).
  links =
    name: targets:
    derivation {
      inherit name system;
      PATH = path;
      builder = sh;
      args = [
        "-c"
        ''
          mkdir -p $out/bin
          for t in ${builtins.concatStringsSep " " targets}; do ln -s $t $out/bin/; done
        ''
      ];
    };
in
{
  util-linux = links "util-linux" (
    map (t: "${hostBin}/${t}") [ "flock" "mount" "umount" "dmesg" ]
    ++ map (t: "${hostSbin}/${t}") [ "wipefs" "blkid" "sfdisk" "blockdev" ]
  );
  e2fsprogs = links "e2fsprogs" [ "${hostSbin}/mkfs.ext4" ];
  dosfstools = links "dosfstools" [ "${hostSbin}/mkfs.vfat" ];
  systemd = links "systemd" [ "${hostBin}/udevadm" "${hostBin}/systemctl" ];
  nix = links "nix" [ "${hostBin}/nix" ] // {
    meta.mainProgram = "nix";
  };
  # Stand-in for nixos-install: a program that only says it is one (the test's stand-in ISO has
  # its own, which records what it was asked to install).
  nixos-install =
    derivation {
      name = "nixos-install-stand-in";
      inherit system;
      PATH = path;
      builder = sh;
      args = [
        "-c"
        ''
          mkdir -p $out/bin
          printf '#!/bin/sh\necho "nixos-install: stand-in, installs nothing" >&2\nexit 1\n' > $out/bin/nixos-install
          chmod +x $out/bin/nixos-install
        ''
      ];
    }
    // {
      meta.mainProgram = "nixos-install";
    };
  # A bootable ISO built by the test, which the stand-in isoImage presents as the installer's
  # image file (null: a placeholder file).
  standInBootableIso = bootableIso;
}
