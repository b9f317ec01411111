# vmflake runtime: each guest's firmware, BIOS or UEFI (OVMF) with its own NVRAM, fixed at install; copied verbatim into the generated flake's modules/vmflake/.
#
# A UEFI guest boots OVMF's code read-only from the store, with a variables file (its NVRAM) of
# its own: the install copies the template for the installer VM and publishes that copy next to
# the image, and nothing overwrites it afterwards. The install also records the firmware it
# installed for (`<stateDir>/firmware`); the guest's unit checks it before every start and
# refuses a guest whose declared firmware differs, since its disk would not boot.
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

  # Paths that reach QEMU's comma-separated options.
  firmwareFile = types.strMatching "/[^,[:space:]]+";

  checkFirmware = pkgs.writeShellApplication {
    name = "vmflake-check-firmware";
    runtimeInputs = [ pkgs.coreutils ];
    text = builtins.readFile ./scripts/check-firmware.sh;
  };

  guestOptions = { name, config, ... }: {
    options = {
      firmware = mkOption {
        type = types.enum [
          "bios"
          "uefi"
        ];
        default = "bios";
        description = ''
          The guest's firmware: SeaBIOS, or OVMF (UEFI) with the guest's own NVRAM. Fixed at
          install: a guest declared with other firmware than its image was installed for
          refuses to start.
        '';
      };
      uefi = {
        code = mkOption {
          type = firmwareFile;
          default = cfg.ovmf.code;
          defaultText = lib.literalExpression "config.vmflake.ovmf.code";
          description = "OVMF's code, mapped read-only as the first flash chip.";
        };
        variablesTemplate = mkOption {
          type = firmwareFile;
          default = cfg.ovmf.variables;
          defaultText = lib.literalExpression "config.vmflake.ovmf.variables";
          description = "The variables file every new NVRAM is copied from (it must match the code).";
        };
        vars = mkOption {
          type = firmwareFile;
          default = "${config.stateDir}/uefi-vars.fd";
          defaultText = lib.literalExpression ''"''${stateDir}/uefi-vars.fd"'';
          description = "The guest's NVRAM, the writable second flash chip; never overwritten.";
        };
      };
      firmwareRecord = mkOption {
        type = types.str;
        default = "${config.stateDir}/firmware";
        defaultText = lib.literalExpression ''"''${stateDir}/firmware"'';
        internal = true;
        description = "Where the install records the firmware the image was installed for.";
      };
    };
    # The install partitions the disk for this firmware and records it.
    config.install.scriptArgs = lib.optionals (config.firmware == "uefi") [
      "--firmware"
      "uefi"
      "--uefi-vars"
      config.uefi.vars
      "--uefi-vars-template"
      config.uefi.variablesTemplate
    ];
  };

  # Before everything else of the unit: a guest that would not boot is not started at all. An
  # ExecCondition, since ExecStartPre is the disk script's; the program exits 255 on every
  # refusal or error, which fails the unit (1–254 would skip it silently).
  checkUnits = lib.mapAttrs' (
    name: g:
    lib.nameValuePair "qemu-guest-${name}" {
      serviceConfig.ExecCondition = utils.escapeSystemdExecArgs (
        [
          (lib.getExe checkFirmware)
          "--guest"
          name
          "--image"
          "${g.stateDir}/disk.qcow2"
          "--record"
          g.firmwareRecord
          "--declared"
          g.firmware
        ]
        ++ lib.optionals (g.firmware == "uefi") [
          "--uefi-vars"
          g.uefi.vars
          "--uefi-vars-template"
          g.uefi.variablesTemplate
        ]
      );
    }
  ) cfg.guests;
in
{
  options.vmflake = {
    ovmf = {
      code = mkOption {
        type = firmwareFile;
        default = pkgs.OVMF.firmware;
        defaultText = lib.literalExpression "pkgs.OVMF.firmware";
        description = "OVMF's code for UEFI guests (without Secure Boot).";
      };
      variables = mkOption {
        type = firmwareFile;
        default = pkgs.OVMF.variables;
        defaultText = lib.literalExpression "pkgs.OVMF.variables";
        description = "OVMF's variables template, from the same build as the code.";
      };
    };
    guests = mkOption { type = types.attrsOf (types.submodule guestOptions); };
  };

  config = lib.mkIf cfg.enable { systemd.services = checkUnits; };
}
