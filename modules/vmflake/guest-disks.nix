# vmflake runtime: in a guest's own system, the guard on its file systems with autoFormat; copied verbatim into the generated flake's modules/vmflake/.
#
# NixOS's autoFormat runs systemd-makefs, which formats a device holding no file system, even one
# holding a partition table. Each such unit gets scripts/format-guard.sh first, which refuses a
# disk that is not blank, so only a blank disk is ever formatted.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  guard = pkgs.writeShellApplication {
    name = "vmflake-format-guard";
    runtimeInputs = [
      pkgs.util-linux
      pkgs.coreutils
    ];
    text = builtins.readFile ./scripts/format-guard.sh;
  };
  formatted = lib.filter (fs: fs.autoFormat) (lib.attrValues config.fileSystems);
in
{
  systemd.services = lib.listToAttrs (
    map (
      fs:
      lib.nameValuePair "systemd-makefs@${utils.escapeSystemdPath fs.device}" {
        # A drop-in on the unit systemd-fstab-generator writes, not a unit of its own.
        overrideStrategy = "asDropin";
        serviceConfig.ExecStartPre = utils.escapeSystemdExecArgs [
          (lib.getExe guard)
          fs.device
        ];
      }
    ) formatted
  );
}
