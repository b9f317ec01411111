# vmflake runtime: the installer ISO's module (nixpkgs' minimal installation CD plus the install service); copied verbatim into the generated flake's modules/vmflake/.
#
# One ISO per host installs any of its guests: the install service acts only on a seed drive
# carrying the host's opt-in token, so evaluating the host costs the same with 1 or 20 guests.
# Only guests that ask for an offline install put their system closure into it.
{
  config,
  lib,
  pkgs,
  modulesPath,
  utils,
  ...
}:
let
  cfg = config.vmflake.installer;
  install = pkgs.writeShellApplication {
    name = "vmflake-install";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.util-linux
      pkgs.e2fsprogs
      pkgs.dosfstools
      pkgs.systemd
      config.nix.package
      config.system.build.nixos-install
    ];
    text = builtins.readFile ./scripts/installer.sh;
  };
in
{
  imports = [ (modulesPath + "/installer/cd-dvd/installation-cd-minimal.nix") ];

  options.vmflake.installer = {
    hostName = lib.mkOption {
      type = lib.types.strMatching "[a-z]([a-z0-9-]{0,61}[a-z0-9])?";
      description = "The host whose guests this ISO installs.";
    };
    token = lib.mkOption {
      type = lib.types.strMatching "[[:graph:]]+";
      default = "vmflake-install-opt-in/${cfg.hostName}";
      description = "The opt-in token a seed drive must carry; without it the ISO touches no disk.";
    };
    offlineSystems = lib.mkOption {
      type = lib.types.attrsOf lib.types.package;
      default = { };
      description = ''
        Systems carried in the ISO by guest name, installed with `nixos-install --system` and no
        network. Evaluating the host then evaluates each of them too.
      '';
    };
  };

  config = {
    # The ISO is iso/vmflake-installer-<host>.iso in the package; the host's install units boot it.
    image.baseName = lib.mkForce "vmflake-installer-${cfg.hostName}";
    # Guests come from the flake on the seed drive or from the closures below, with
    # --no-channel-copy, so no channel; without it the ISO also evaluates several times faster.
    system.installer.channel.enable = false;
    # Rebuilt whenever nixpkgs changes: build fast rather than small.
    isoImage.squashfsCompression = "zstd -Xcompression-level 6";
    # Nobody picks a boot menu entry: start at once.
    boot.loader.timeout = lib.mkForce 1;
    # The serial console is the host's install log (and /dev/console).
    boot.kernelParams = [
      "console=tty0"
      "console=ttyS0,115200n8"
    ];
    isoImage.storeContents = lib.attrValues cfg.offlineSystems;
    environment.etc = lib.mapAttrs' (
      guest: system: lib.nameValuePair "vmflake/offline/${guest}" { source = system; }
    ) cfg.offlineSystems;
    systemd.services.vmflake-install = {
      description = "vmflake: unattended install of a guest of ${cfg.hostName} (only with its seed drive)";
      wantedBy = [ "multi-user.target" ];
      unitConfig.ConditionVirtualization = "vm";
      environment.HOME = "/root";
      serviceConfig = {
        Type = "oneshot";
        ExecStart = utils.escapeSystemdExecArgs [
          (lib.getExe install)
          "--host"
          cfg.hostName
          "--token"
          cfg.token
        ];
        StandardOutput = "journal+console";
        StandardError = "journal+console";
      };
    };
  };
}
