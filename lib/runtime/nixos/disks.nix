# vmflake runtime: a guest's data disks, created empty on its first start and grown before each start; copied verbatim into the generated flake's modules/vmflake/.
#
# Each data disk is a qcow2 image `<stateDir>/disk-<name>.qcow2`, prepared by
# `qemu-guest-<name>-disks.service` (which the guest's unit requires) and attached by qemu.nix as a
# virtio-blk disk after the guest's other devices. Nothing here deletes an image: a disk removed
# from the options is no longer attached, and its image stays where it is.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.vmflake;
  inherit (lib) mkOption types;
  exec = utils.escapeSystemdExecArgs;

  # The same program as the root disk's ExecStartPre (default.nix builds it identically).
  prepareDisk = pkgs.writeShellApplication {
    name = "vmflake-prepare-disk";
    runtimeInputs = [
      pkgs.qemu-utils
      pkgs.jq
      pkgs.coreutils
    ];
    text = builtins.readFile ./scripts/prepare-disk.sh;
  };

  diskOptions = guest: { name, ... }: {
    options = {
      bytes = mkOption {
        type = types.ints.positive;
        description = ''
          Virtual size in bytes, a multiple of 512. A missing image is created empty with it; a
          larger value grows the image before the next start; a smaller one is refused.
        '';
      };
      serial = mkOption {
        type = types.strMatching "[A-Za-z0-9._-]{1,20}";
        default = name;
        description = "virtio-blk serial; the guest finds the disk as `/dev/disk/by-id/virtio-<serial>`.";
      };
      image = mkOption {
        type = types.strMatching "/var/lib(/[A-Za-z0-9._-]+)+";
        default = "${guest.stateDir}/disk-${name}.qcow2";
        defaultText = lib.literalExpression ''"''${stateDir}/disk-<name>.qcow2"'';
        description = "The disk's qcow2 image.";
      };
    };
  };

  allUnique = l: builtins.length (builtins.attrNames (lib.genAttrs l (_: null))) == builtins.length l;

  withDisks = lib.filterAttrs (_: g: g.disks != { }) cfg.guests;
  disksUnit = name: "qemu-guest-${name}-disks";

  units = lib.mapAttrs' (
    name: g:
    lib.nameValuePair (disksUnit name) {
      description = "Data disks of QEMU guest ${name}";
      serviceConfig = import ./confined.nix // {
        # No RemainAfterExit: the guest's unit requires this one, so every start of the guest
        # runs it again, and a disk grown in the options is grown before QEMU opens it.
        Type = "oneshot";
        User = g.user;
        Group = g.user;
        StateDirectory = lib.removePrefix "/var/lib/" g.stateDir;
        StateDirectoryMode = "0750";
        UMask = "0027";
        ExecStart = lib.mapAttrsToList (
          _: d:
          exec [
            (lib.getExe prepareDisk)
            "--create"
            d.image
            d.bytes
          ]
        ) g.disks;
      };
    }
  ) withDisks;

  # The guest's unit waits for its disks; a disk that cannot be prepared keeps QEMU from starting.
  guestDeps = lib.mapAttrs' (
    name: _:
    lib.nameValuePair "qemu-guest-${name}" {
      requires = [ "${disksUnit name}.service" ];
      after = [ "${disksUnit name}.service" ];
    }
  ) withDisks;
in
{
  options.vmflake.guests = mkOption {
    type = types.attrsOf (
      types.submodule (
        { config, ... }: {
          options.disks = mkOption {
            type = types.attrsOf (types.submodule (diskOptions config));
            default = { };
            description = "Data disks, by name (a lowercase label of at most 20 characters).";
          };
        }
      )
    );
  };

  config = lib.mkIf cfg.enable {
    systemd.services = units // guestDeps;
    assertions = lib.concatLists (
      lib.mapAttrsToList (
        name: g:
        [
          {
            # Its disks' unit would be the other guest's own unit.
            assertion = g.disks == { } || !(cfg.guests ? "${name}-disks");
            message = "vmflake.guests.${name}-disks: qemu-guest-${name}-disks is guest ${name}'s data disks' unit; rename that guest";
          }
        ]
        ++ [
          {
            # The guest tells its disks apart by serial.
            assertion = allUnique ([ g.diskSerial ] ++ lib.mapAttrsToList (_: d: d.serial) g.disks);
            message = "vmflake.guests.${name}.disks: every disk needs a serial of its own (the root disk's is ${g.diskSerial})";
          }
        ]
        ++ lib.mapAttrsToList (disk: d: {
          assertion = builtins.match "[a-z][a-z0-9-]{0,19}" disk != null && d.bytes / 512 * 512 == d.bytes;
          message = "vmflake.guests.${name}.disks.${disk}: the name must be a lowercase label of at most 20 characters and bytes (${toString d.bytes}) a multiple of 512";
        }) g.disks
      ) cfg.guests
    );
  };
}
