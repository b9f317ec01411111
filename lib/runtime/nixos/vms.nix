# vmflake runtime: the host command `vms` and the guests' facts it reads; copied verbatim into the generated flake's modules/vmflake/.
#
# `vms` (scripts/vms.sh) lists and handles this host's guests: state, addresses, console, logs,
# ssh, qcow2 snapshots, reinstall. It is plain shell: what it needs to know about the guests (unit
# names, paths, MACs, sizes) is written at build time to /etc/vmflake/guests.json, which it reads
# with jq. It starts and stops guests only through systemctl, so a stop is the units' own
# synchronous one.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vmflake;
  inherit (lib) mkOption types;

  # The qcow2 node of the guest's disk in qemu.nix, which QMP's snapshot jobs name.
  diskNode = "disk0";

  facts = {
    host = cfg.hostName;
    inherit (cfg.lan) bridge;
    inherit (cfg.hostCommand) leaseFiles otherGuests;
    guests = lib.mapAttrs (_: g: {
      inherit (g)
        unit
        installUnit
        cpus
        memoryMiB
        diskBytes
        image
        consoleLog
        consoleSocket
        qmpSocket
        stateDir
        vnc
        ;
      installLog = g.install.log;
      # Every NIC's: the first is the guest's own, the others are on the host's other networks.
      macs = [ g.mac ] ++ map (nic: nic.mac) (g.extraNics or [ ]);
      inherit diskNode;
    }) cfg.resolvedGuests;
  };

  vms = pkgs.writeShellApplication {
    name = "vms";
    # systemctl is not listed: the host's own (on every NixOS PATH) must manage its units.
    runtimeInputs = [
      pkgs.jq
      pkgs.qemu-utils
      pkgs.socat
      pkgs.iproute2
      pkgs.openssh
      pkgs.coreutils
    ];
    text = builtins.readFile ./scripts/vms.sh;
  };
in
{
  options.vmflake.hostCommand = {
    leaseFiles = mkOption {
      type = types.listOf types.str;
      # The NAT networks' dnsmasq (services.dnsmasq), when the host runs it. nixpkgs' dnsmasq
      # settings hold a list for a key given once, so both forms are read.
      default = lib.optionals (config.services.dnsmasq.enable or false) (
        lib.toList (config.services.dnsmasq.settings.dhcp-leasefile or "/var/lib/dnsmasq/dnsmasq.leases")
      );
      defaultText = lib.literalMD "dnsmasq's lease file when `services.dnsmasq` is enabled";
      example = [ "/var/lib/dnsmasq/nat0.leases" ];
      description = "dnsmasq lease files whose MAC-to-address entries `vms` shows next to the bridge's neighbour table; missing files are skipped.";
    };
    otherGuests = mkOption {
      type = types.attrsOf (types.strMatching "[a-z]([a-z0-9-]{0,61}[a-z0-9])?");
      default = { };
      example = {
        carol = "server2";
      };
      description = "Guests of the other hosts of the same hosts file, by name, with their host: `vms` names that host instead of calling the guest unknown.";
    };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ vms ];
    environment.etc."vmflake/guests.json".text = builtins.toJSON facts;
  };
}
