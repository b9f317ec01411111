# vmflake runtime: PCI (VFIO) and USB passthrough of host devices to guests; copied verbatim into the generated flake's modules/vmflake/.
#
# Imported by default.nix. Per guest with `pci` devices: the IOMMU kernel parameters, a root
# oneshot `vmflake-vfio-<guest>.service` that binds them to vfio-pci before the guest starts (and
# refuses a device the host is using), the group nodes and locked memory the guest's QEMU needs,
# and a `vfio-pci` device each. Per guest with `usb` devices: a udev rule that gives the guest's
# user the device node, and `usb-host` devices on a `qemu-xhci` controller. The devices come
# after the guest's others on QEMU's command line, so no other device's PCI slot moves.
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

  # The kernel's PCI address form, lowercase as sysfs writes it: domain, bus, device, function.
  pciAddress = types.strMatching "[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f][.][0-7]";
  usbId = types.strMatching "[0-9a-f]{4}";

  vfioBind = pkgs.writeShellApplication {
    name = "vmflake-vfio-bind";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.systemd
    ];
    text = builtins.readFile ./scripts/vfio-bind.sh;
  };

  # Locked memory beyond the guest's RAM, for QEMU's own DMA mappings (libvirt adds 1 GiB too):
  # VFIO pins all of the guest's memory for the device's DMA.
  memlockMarginMiB = 1024;

  # Kernel parameters per IOMMU: Intel's VT-d is off unless asked for; AMD-Vi is on when the
  # firmware enables it. iommu=pt leaves the host's own devices untranslated (no slowdown).
  iommuParams = {
    intel = [
      "intel_iommu=on"
      "iommu=pt"
    ];
    amd = [ "iommu=pt" ];
    none = [ ];
  };
  # "auto": the vendor whose microcode updates hardware-configuration.nix turns on (as
  # nixos-generate-config writes it). Not boot.kernelModules: the value set here is in boot too.
  detectedIommu =
    if config.hardware.cpu.intel.updateMicrocode or false then
      "intel"
    else if config.hardware.cpu.amd.updateMicrocode or false then
      "amd"
    else
      null;
  iommu = if cfg.iommu == "auto" then detectedIommu else cfg.iommu;

  usbOptions = {
    options = {
      vendor = mkOption {
        type = usbId;
        description = "The device's vendor ID, four lowercase hex digits (`lsusb` shows `vendor:product`).";
      };
      product = mkOption {
        type = usbId;
        description = "The device's product ID, four lowercase hex digits.";
      };
      bus = mkOption {
        type = types.nullOr (types.ints.between 1 255);
        default = null;
        description = "Only the device on this USB bus; `null` for any bus.";
      };
      port = mkOption {
        type = types.nullOr (types.strMatching "[1-9][0-9]{0,2}([.][1-9][0-9]{0,2}){0,6}");
        default = null;
        description = "Only the device on this port of `bus` (`2`, or `1.4` behind a hub); `null` for any port.";
      };
    };
  };

  guestOptions = { config, ... }: {
    options = {
      pci = mkOption {
        type = types.listOf pciAddress;
        default = [ ];
        example = [ "0000:01:00.0" ];
        description = ''
          PCI devices handed to the guest with VFIO, by address (`lspci -D`). Bound to vfio-pci
          by `vmflake-vfio-<guest>.service` before the guest starts; a device the host uses is
          refused. Needs the IOMMU on in the firmware.
        '';
      };
      usb = mkOption {
        type = types.listOf (types.submodule usbOptions);
        default = [ ];
        description = "USB devices handed to the guest, by vendor and product ID (and optionally bus and port).";
      };
    };
    config.extraQemuArgs =
      lib.concatMap (addr: [
        "-device"
        "vfio-pci,host=${addr}"
      ]) config.pci
      ++ lib.optionals (config.usb != [ ]) (
        [
          "-device"
          "qemu-xhci,id=vmflake-xhci,p2=15,p3=15"
        ]
        ++ lib.concatMap (d: [
          "-device"
          (
            "usb-host,bus=vmflake-xhci.0,vendorid=0x${d.vendor},productid=0x${d.product}"
            + lib.optionalString (d.bus != null) ",hostbus=${toString d.bus}"
            + lib.optionalString (d.port != null) ",hostport=${d.port}"
          )
        ]) config.usb
      );
  };

  withPci = lib.filterAttrs (_: g: g.pci != [ ]) cfg.guests;
  withUsb = lib.filterAttrs (_: g: g.usb != [ ]) cfg.guests;
  bindUnit = name: "vmflake-vfio-${name}";

  # The root oneshot that hands the guest's devices to vfio-pci. Not restarted by a rebuild (the
  # devices stay bound while the guest runs); starting it again is a no-op for bound devices.
  bindUnits = lib.mapAttrs' (
    name: g:
    lib.nameValuePair (bindUnit name) {
      description = "VFIO binding of the PCI devices of QEMU guest ${name}";
      before = [ "qemu-guest-${name}.service" ];
      restartIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = utils.escapeSystemdExecArgs (
          [
            (lib.getExe vfioBind)
            g.user
          ]
          ++ g.pci
        );
      };
    }
  ) withPci;

  # The guest's QEMU opens /dev/vfio/vfio (the container, mode 0666) and its groups' nodes, which
  # the bind unit gave to its user alone; char-vfio is every group node, the ownership the one.
  guestPciUnits = lib.mapAttrs' (
    name: g:
    lib.nameValuePair "qemu-guest-${name}" {
      requires = [ "${bindUnit name}.service" ];
      after = [ "${bindUnit name}.service" ];
      serviceConfig = {
        DeviceAllow = [
          "/dev/vfio/vfio rw"
          "char-vfio rw"
        ];
        LimitMEMLOCK = "${toString (g.memoryMiB + memlockMarginMiB)}M";
      };
    }
  ) withPci;

  # libusb opens /dev/bus/usb/<bus>/<device>, which udev gives the guest's user.
  guestUsbUnits = lib.mapAttrs' (
    name: _:
    lib.nameValuePair "qemu-guest-${name}" { serviceConfig.DeviceAllow = [ "char-usb_device rw" ]; }
  ) withUsb;

  # udev's KERNEL of a USB device is <bus>-<port>, e.g. 1-2 or 1-1.4.
  usbRule =
    g: d:
    lib.concatStringsSep ", " (
      [
        ''SUBSYSTEM=="usb"''
        ''ENV{DEVTYPE}=="usb_device"''
        ''ATTR{idVendor}=="${d.vendor}"''
        ''ATTR{idProduct}=="${d.product}"''
      ]
      ++ lib.optional (d.bus != null && d.port != null) ''KERNEL=="${toString d.bus}-${d.port}"''
      ++ lib.optional (d.bus != null && d.port == null) ''ATTR{busnum}=="${toString d.bus}"''
      ++ [
        ''OWNER="${g.user}"''
        ''GROUP="${g.user}"''
        ''MODE="0600"''
      ]
    );

  # Each PCI address and USB device (vendor, product, bus, port) with the guests that list it.
  owners =
    key: guests:
    lib.zipAttrsWith (_: names: names) (
      lib.mapAttrsToList (name: g: lib.listToAttrs (map (k: lib.nameValuePair k name) (key g))) guests
    );
  shared = attrs: lib.filterAttrs (_: names: builtins.length names > 1) attrs;
  pciOwners = shared (owners (g: g.pci) cfg.guests);
  usbKey =
    d:
    "${d.vendor}:${d.product}"
    + lib.optionalString (d.bus != null) " on bus ${toString d.bus}"
    + lib.optionalString (d.port != null) " port ${d.port}";
  usbOwners = shared (owners (g: map usbKey g.usb) cfg.guests);
in
{
  options.vmflake = {
    iommu = mkOption {
      type = types.enum [
        "auto"
        "intel"
        "amd"
        "none"
      ];
      default = "auto";
      description = ''
        The IOMMU kernel parameters for PCI passthrough, when a guest has `pci` devices: `auto`
        takes the CPU vendor from hardware-configuration.nix (`hardware.cpu.*.updateMicrocode`);
        `none` sets none.
      '';
    };
    guests = mkOption { type = types.attrsOf (types.submodule guestOptions); };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      (lib.mkIf (withPci != { }) {
        boot.kernelParams = iommuParams.${if iommu == null then "none" else iommu};
        boot.kernelModules = [ "vfio-pci" ];
        systemd.services = bindUnits // guestPciUnits;
        assertions = [
          {
            assertion = iommu != null;
            message = "vmflake.iommu: cannot tell this host's CPU vendor (neither hardware.cpu.intel.updateMicrocode nor hardware.cpu.amd.updateMicrocode is on); set vmflake.iommu to \"intel\", \"amd\" or \"none\"";
          }
        ];
      })
      (lib.mkIf (withUsb != { }) {
        systemd.services = guestUsbUnits;
        services.udev.extraRules = lib.concatStringsSep "\n" (
          lib.concatLists (lib.mapAttrsToList (_: g: map (usbRule g) g.usb) withUsb)
        );
      })
      {
        assertions =
          lib.mapAttrsToList (addr: names: {
            assertion = false;
            message = "vmflake.guests.*.pci: ${addr} is listed by guests ${lib.concatStringsSep " and " names}; a device can be in one guest only";
          }) pciOwners
          ++ lib.mapAttrsToList (key: names: {
            assertion = false;
            message = "vmflake.guests.*.usb: USB device ${key} is listed by guests ${lib.concatStringsSep " and " names}; give bus and port to tell identical devices apart";
          }) usbOwners;
      }
    ]
  );
}
