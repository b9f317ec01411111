# vmflake runtime: a TPM 2.0 per guest that asks for one, an swtpm unit of its own; copied verbatim into the generated flake's modules/vmflake/.
#
# `qemu-guest-<name>-tpm.service` runs swtpm as the guest's user, with the TPM's state in
# `<stateDir>/tpm` and its control socket in its own runtime directory (systemd removes a unit's
# runtime directory when that unit stops, so the guest's and the TPM's are kept apart). The guest's
# unit requires it and starts after it; it is part of the guest's unit, so it stops and restarts
# with the guest, and swtpm also ends when QEMU hangs up (--terminate).
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

  guestOptions = { name, config, ... }: {
    options = {
      tpm = mkOption {
        type = types.bool;
        default = false;
        description = "A TPM 2.0 (swtpm, QEMU's tpm-crb); needs `firmware = \"uefi\"`.";
      };
      tpmSocket = mkOption {
        type = types.strMatching "/run/[^,[:space:]]+";
        default = "/run/qemu-guests/${name}-tpm/swtpm.sock";
        internal = true;
        description = "swtpm's control socket, which QEMU connects to.";
      };
    };
  };

  tpmGuests = lib.filterAttrs (_: g: g.tpm) cfg.guests;

  # swtpm needs only its state directory and one Unix socket: the helpers' sandbox, and its
  # state readable by the guest's user alone.
  sandbox = import ./confined.nix // {
    UMask = "0077";
  };

  units = lib.mapAttrs' (
    name: g:
    let
      stateDirectory = lib.removePrefix "/var/lib/" g.stateDir;
      runDir = builtins.dirOf g.tpmSocket;
    in
    lib.nameValuePair "qemu-guest-${name}-tpm" {
      description = "TPM 2.0 of QEMU guest ${name} (swtpm)";
      partOf = [ "qemu-guest-${name}.service" ];
      # A rebuild must not take the TPM from a running guest.
      restartIfChanged = false;
      serviceConfig = sandbox // {
        # swtpm forks once its socket is listening, so QEMU, ordered after it, finds the socket.
        Type = "forking";
        PIDFile = "${runDir}/swtpm.pid";
        User = g.user;
        Group = g.user;
        StateDirectory = [
          stateDirectory
          "${stateDirectory}/tpm"
        ];
        StateDirectoryMode = "0750";
        RuntimeDirectory = lib.removePrefix "/run/" runDir;
        RuntimeDirectoryMode = "0750";
        ExecStart = utils.escapeSystemdExecArgs [
          (lib.getExe' cfg.swtpmPackage "swtpm")
          "socket"
          "--tpm2"
          "--tpmstate"
          "dir=${g.stateDir}/tpm,mode=0600"
          "--ctrl"
          "type=unixio,path=${g.tpmSocket},mode=0600"
          "--pid"
          "file=${runDir}/swtpm.pid"
          "--terminate"
          "--daemon"
        ];
      };
    }
  ) tpmGuests;

  guestUnits = lib.mapAttrs' (
    name: _:
    lib.nameValuePair "qemu-guest-${name}" {
      requires = [ "qemu-guest-${name}-tpm.service" ];
      after = [ "qemu-guest-${name}-tpm.service" ];
    }
  ) tpmGuests;
in
{
  options.vmflake = {
    swtpmPackage = mkOption {
      type = types.package;
      default = pkgs.swtpm;
      defaultText = lib.literalExpression "pkgs.swtpm";
      description = "The swtpm that emulates the guests' TPMs.";
    };
    guests = mkOption { type = types.attrsOf (types.submodule guestOptions); };
  };

  config = lib.mkIf cfg.enable {
    systemd.services = lib.mkMerge [
      units
      guestUnits
    ];
    assertions = lib.concatLists (
      lib.mapAttrsToList (name: g: [
        {
          assertion = g.tpm -> g.firmware == "uefi";
          message = "vmflake.guests.${name}.tpm: a TPM needs firmware = \"uefi\"";
        }
        {
          # Its TPM unit would be the other guest's own unit.
          assertion = g.tpm -> !(cfg.guests ? "${name}-tpm");
          message = "vmflake.guests.${name}-tpm: qemu-guest-${name}-tpm is guest ${name}'s TPM unit; rename that guest";
        }
      ]) cfg.guests
    );
  };
}
