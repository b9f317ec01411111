# vmflake runtime: the host module that runs QEMU/KVM guests as systemd services; copied verbatim into the generated flake's modules/vmflake/.
#
# A host's generated module (modules/<host>.nix) imports this and sets `vmflake.*` to literal
# values. From them this module builds, per guest: a system user, a tap owned by it on the LAN
# bridge (its own unit, which a host rebuild never restarts), `qemu-guest-<name>.service` running
# QEMU as its main process, and `qemu-guest-<name>-install.service`, the first install. Its text
# is the same for every hosts.ts; the reasons behind each setting are in vmflake's docs/qemu-and-systemd.md.
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
  qemu = import ./qemu.nix { inherit lib; };

  # Values that reach QEMU's comma-separated options, shell words and unit names: the generated
  # values file is checked by vmflake first, these types check anything set by hand.
  ifname = types.strMatching "[A-Za-z0-9][A-Za-z0-9_.-]{0,14}";
  mac = types.strMatching "[0-9a-f][02468ace](:[0-9a-f]{2}){5}";
  label = types.strMatching "[a-z]([a-z0-9-]{0,61}[a-z0-9])?";
  varLibPath = types.strMatching "/var/lib(/[A-Za-z0-9._-]+)+";
  noComma = types.strMatching "[^,[:space:]]+";

  # Each script is a program of its own; writeShellApplication runs shellcheck on it at build time.
  script =
    name: runtimeInputs:
    pkgs.writeShellApplication {
      name = "vmflake-${name}";
      inherit runtimeInputs;
      text = builtins.readFile ./scripts/${name}.sh;
    };
  stopGuest = script "stop-guest" [
    pkgs.socat
    pkgs.coreutils
  ];
  prepareDisk = script "prepare-disk" [
    pkgs.qemu-utils
    pkgs.jq
    pkgs.coreutils
  ];
  installGuest = script "install-guest" [
    pkgs.qemu-utils
    pkgs.coreutils
    pkgs.util-linux
  ];
  tap = script "tap" [
    pkgs.iproute2
    pkgs.coreutils
  ];

  exec = utils.escapeSystemdExecArgs;

  # Extra seconds systemd waits beyond the stop script's own deadline (its quit grace is 10 s).
  stopMargin = 30;
  # The install script's `timeout --kill-after`, plus time to check and publish the image.
  installMargin = 10 + 120;

  # The systemd sandbox of every guest's QEMU and of its first install (systemd.exec(5)). QEMU adds
  # its own seccomp filter (-sandbox). Passthrough (passthrough.nix) allows the guest unit its
  # devices on top of these.
  sandbox = {
    DevicePolicy = "closed";
    DeviceAllow = [
      "/dev/kvm rw"
      "/dev/net/tun rw"
      "/dev/vhost-net rw"
    ];
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictSUIDSGID = true;
    RestrictRealtime = true;
    RestrictNamespaces = true;
    LockPersonality = true;
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
      "AF_NETLINK"
    ];
    CapabilityBoundingSet = "";
    UMask = "0027";
  };

  guestOptions = { name, config, ... }: {
    options = {
      autostart = mkOption {
        type = types.bool;
        default = true;
        description = "Start the guest with the host (`wantedBy = [ \"multi-user.target\" ]`).";
      };
      memoryMiB = mkOption {
        type = types.ints.between 128 16777216;
        description = "Guest memory in MiB (`-m`).";
      };
      cpus = mkOption {
        type = types.ints.between 1 255;
        default = 1;
        description = "Virtual CPUs (`-smp`).";
      };
      diskBytes = mkOption {
        type = types.ints.positive;
        description = ''
          Virtual size of the guest's disk image in bytes, a multiple of 512. A larger value
          grows the image before the next start; a smaller one is refused, never applied.
        '';
      };
      diskSerial = mkOption {
        type = types.strMatching "[A-Za-z0-9._-]{1,20}";
        default = "vmflake-root";
        description = "virtio-blk serial of the disk; the guest finds it as `/dev/disk/by-id/virtio-<serial>`.";
      };
      tap = mkOption {
        type = ifname;
        description = "The guest's tap interface, a port of the LAN bridge owned by the guest's user.";
      };
      mac = mkOption {
        type = mac;
        description = "The guest NIC's MAC (unicast; its tap gets the same with first byte `fe`).";
      };
      vnc = mkOption {
        type = types.nullOr (
          types.submodule {
            options = {
              display = mkOption {
                type = types.ints.between 0 99;
                description = "VNC display: TCP port 5900 + display.";
              };
              address = mkOption {
                type = noComma;
                default = "127.0.0.1";
                description = "Address VNC listens on. VNC has no password here: keep it on loopback unless the network is trusted.";
              };
            };
          }
        );
        default = null;
        description = "A VNC console with a VGA card; `null` for none.";
      };
      shutdownTimeout = mkOption {
        type = types.ints.positive;
        default = 120;
        description = "Seconds the guest gets to power off (ACPI) before QEMU is told to quit.";
      };
      user = mkOption {
        type = types.strMatching "[a-z_][a-z0-9_-]{0,31}";
        default = "vm-${name}";
        description = "System user (and group) QEMU runs as; it owns the tap, the image and the QMP socket.";
      };
      stateDir = mkOption {
        type = varLibPath;
        default = "${cfg.stateDir}/${name}";
        defaultText = lib.literalExpression ''"''${config.vmflake.stateDir}/<name>"'';
        description = "The guest's image, console log and install log (a systemd StateDirectory).";
      };
      extraQemuArgs = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = ''
          Arguments appended to the guest's QEMU command line, after its own devices (so their
          PCI slots never move): the passthrough devices of `pci` and `usb`, and any of the
          host's own.
        '';
      };
      memoryBalloon = mkOption {
        type = types.bool;
        default = true;
        description = "A virtio balloon with free page reporting: memory the guest frees goes back to the host.";
      };
      install = {
        scriptArgs = mkOption {
          type = types.listOf types.str;
          default = [ ];
          internal = true;
          description = "Arguments the runtime's other modules add to the install program's (before `--`).";
        };
        offline = mkOption {
          type = types.bool;
          default = false;
          description = "The installer ISO carries the guest's system, so the first install needs no network.";
        };
        timeout = mkOption {
          type = types.ints.between 60 86400;
          default = 1800;
          description = "Seconds the first install may take before the installer VM is stopped and the install fails.";
        };
        memoryMiB = mkOption {
          type = types.ints.between 128 16777216;
          default = if config.memoryMiB > 3072 then config.memoryMiB else 3072;
          defaultText = lib.literalExpression "lib.max memoryMiB 3072";
          description = "Memory of the installer VM: nixos-install evaluates NixOS and keeps its store in RAM.";
        };
      };
    };
  };

  # Paths and names every unit of guest `name` uses, from its options.
  resolved =
    name: g:
    let
      runtimeDir = "/run/qemu-guests/${name}";
    in
    g
    // {
      inherit name;
      unit = "qemu-guest-${name}";
      installUnit = "qemu-guest-${name}-install";
      tapUnit = "vmflake-tap-${g.tap}";
      stateDirectory = lib.removePrefix "/var/lib/" g.stateDir;
      runtimeDirectory = lib.removePrefix "/run/" runtimeDir;
      image = "${g.stateDir}/disk.qcow2";
      consoleLog = "${g.stateDir}/console.log";
      consoleSocket = "${runtimeDir}/console.sock";
      qmpSocket = "${runtimeDir}/qmp.sock";
      install = g.install // {
        workDir = "${g.stateDir}/install.tmp";
        log = "${g.stateDir}/install.log";
      };
    };
  guests = lib.mapAttrs resolved cfg.guests;

  # The bridge of a network (networks.nix): `lan` is the LAN's.
  bridgeOf =
    network:
    if network == "lan" then
      cfg.lan.bridge
    else
      (cfg.networks.${network} or (throw "vmflake: there is no network ${network} in vmflake.networks"))
      .bridge;

  # Every NIC of guest g, the first one (the guest's own tap and MAC) first, with its bridge.
  nicsOf =
    g:
    map (
      nic:
      nic
      // {
        bridge = bridgeOf nic.network;
        tapUnit = "vmflake-tap-${nic.tap}";
      }
    ) ([ { inherit (g) tap mac network; } ] ++ g.extraNics);

  users = lib.mapAttrs' (
    _: g:
    lib.nameValuePair g.user {
      isSystemUser = true;
      group = g.user;
      extraGroups = [ "kvm" ];
    }
  ) guests;

  groups = lib.mapAttrs' (_: g: lib.nameValuePair g.user { }) guests;

  allNics = lib.concatMap nicsOf (builtins.attrValues guests);

  # The tap of a guest, created by a unit of the runtime's own: a host rebuild never restarts it
  # (a restart would take the running guest's network with it), and starting it again reuses
  # a tap that is already there.
  tapUnits = lib.listToAttrs (
    lib.concatMap (g: map (nic: tapUnit g nic) (nicsOf g)) (builtins.attrValues guests)
  );
  tapUnit =
    g: nic:
    lib.nameValuePair nic.tapUnit {
      description = "Tap ${nic.tap} of QEMU guest ${g.name}";
      wantedBy = [ "multi-user.target" ];
      # The tap makes itself a port of the bridge, so it waits for the bridge to exist (made by
      # the bridge's unit, or by networkd). Wants=, not a binding: the bridge going away must
      # not stop the tap, nor a tap failing stop the bridge.
      wants = [ (bridgeDevice nic.bridge) ];
      after = [
        "network-pre.target"
        (bridgeDevice nic.bridge)
        "${nic.bridge}-netdev.service"
      ];
      restartIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        # A guest with more than one CPU gets a queue per CPU (qemu.nix), so its tap is
        # multi-queue.
        ExecStart = exec (
          [
            (lib.getExe tap)
            "up"
            nic.tap
            g.user
            (tapMac nic.mac)
            nic.bridge
          ]
          ++ lib.optional (g.cpus > 1) "multi-queue"
        );
        ExecStop = exec [
          (lib.getExe tap)
          "down"
          nic.tap
        ];
      };
    };

  # systemd's device unit of the bridge (interface names have no characters systemd escapes but
  # "-", which the IFNAME type allows; it becomes \x2d).
  bridgeDevice =
    bridge: "sys-subsystem-net-devices-${builtins.replaceStrings [ "-" ] [ "\\x2d" ] bridge}.device";

  # The tap units of guest g's NICs and the units of their bridges, the first NIC's first.
  tapUnitsOf = g: map (nic: "${nic.tapUnit}.service") (nicsOf g);
  bridgeUnitsOf = g: lib.unique (map (nic: "${nic.bridge}-netdev.service") (nicsOf g));

  # A bridge takes the lowest MAC of its ports: a high one (fe:…, as libvirt does) on every tap
  # keeps the NIC's, and so the host's DHCP lease.
  tapMac = guestMac: "fe${builtins.substring 2 15 guestMac}";

  guestUnits = lib.mapAttrs' (
    _: g:
    lib.nameValuePair g.unit {
      description = "QEMU guest ${g.name}";
      wantedBy = lib.optional g.autostart "multi-user.target";
      # The first install runs before, and only while the image is missing (a skipped condition
      # satisfies Requires=). The tap's unit is never restarted by a rebuild, so requiring it
      # never takes the guest down; nothing else a rebuild restarts is required.
      requires = tapUnitsOf g ++ [ "${g.installUnit}.service" ];
      after = [ "network.target" ] ++ tapUnitsOf g ++ bridgeUnitsOf g ++ [ "${g.installUnit}.service" ];
      # A rebuild never restarts a running guest: its new definition applies at its next start.
      restartIfChanged = false;
      startLimitIntervalSec = 300;
      startLimitBurst = 3;
      serviceConfig = sandbox // {
        Type = "exec";
        User = g.user;
        Group = g.user;
        StateDirectory = g.stateDirectory;
        StateDirectoryMode = "0750";
        RuntimeDirectory = g.runtimeDirectory;
        RuntimeDirectoryMode = "0750";
        ExecStartPre = exec [
          (lib.getExe prepareDisk)
          g.image
          g.diskBytes
        ];
        ExecStart = exec ([ (lib.getExe cfg.qemuPackage) ] ++ qemu.guest g);
        # Synchronous: returns only once QEMU is gone (systemd SIGTERMs what is left after it).
        ExecStop = exec [
          (lib.getExe stopGuest)
          g.qmpSocket
          g.shutdownTimeout
        ];
        TimeoutStopSec = g.shutdownTimeout + stopMargin;
        Restart = "on-failure";
        RestartSec = 10;
      };
    }
  ) guests;

  installUnits = lib.mapAttrs' (
    _: g:
    let
      network = !g.install.offline;
    in
    lib.nameValuePair g.installUnit {
      description = "First install of QEMU guest ${g.name}";
      requires = lib.optionals network (tapUnitsOf g);
      after = lib.optionals network ([ "network.target" ] ++ tapUnitsOf g ++ bridgeUnitsOf g);
      unitConfig.ConditionPathExists = "!${g.image}";
      # A rebuild must not restart (and so abort) an install in progress.
      restartIfChanged = false;
      serviceConfig = sandbox // {
        Type = "oneshot";
        User = g.user;
        Group = g.user;
        StateDirectory = g.stateDirectory;
        StateDirectoryMode = "0750";
        TimeoutStartSec = g.install.timeout + installMargin;
        ExecStart = exec (
          [
            (lib.getExe installGuest)
            "--host"
            cfg.hostName
            "--guest"
            g.name
            "--image"
            g.image
            "--disk-bytes"
            g.diskBytes
            "--disk-serial"
            g.diskSerial
            "--work"
            g.install.workDir
            "--log"
            g.install.log
            "--timeout"
            g.install.timeout
            "--token"
            cfg.installer.token
            "--iso"
            cfg.installer.iso
          ]
          ++ lib.optionals network [
            "--flake"
            cfg.installer.flake
          ]
          ++ g.install.scriptArgs
          ++ [
            "--"
            (lib.getExe cfg.qemuPackage)
          ]
          ++ qemu.install g
        );
      };
    }
  ) guests;

  # This flake's own files (flake.nix, flake.lock, modules/), which network installs hand to the
  # installer on the seed drive. builtins.path with a filter: lib.fileset needs
  # builtins.readFileType, which Nix before 2.14 lacks.
  flakeSource = builtins.path {
    name = "vmflake-flake";
    path = ../..;
    filter =
      path: _type:
      let
        name = lib.removePrefix "${toString ../..}/" path;
      in
      builtins.elem name [
        "flake.nix"
        "flake.lock"
        "modules"
      ]
      || lib.hasPrefix "modules/" name;
  };
in
{
  # Each feature extends `vmflake.guests.<name>` with options of its own and adds to the units.
  imports = [
    ./networks.nix
    ./passthrough.nix
    ./disks.nix
    ./shares.nix
    ./vms.nix
    ./firmware.nix
    ./tpm.nix
  ];

  options.vmflake = {
    enable = lib.mkEnableOption "vmflake's QEMU/KVM guests on this host";
    hostName = mkOption {
      type = label;
      description = "This host's name in hosts.ts; the installer acts only on seeds naming it.";
    };
    stateDir = mkOption {
      type = varLibPath;
      default = "/var/lib/qemu-guests";
      description = "Where each guest's directory (image and logs) lives.";
    };
    qemuPackage = mkOption {
      type = types.package;
      default = pkgs.qemu_kvm;
      defaultText = lib.literalExpression "pkgs.qemu_kvm";
      description = "The QEMU whose `qemu-system-*` (its main program) runs the guests.";
    };
    lan = {
      nic = mkOption {
        type = ifname;
        description = "The host's NIC; it becomes a port of the bridge and loses its own address.";
      };
      bridge = mkOption {
        type = ifname;
        description = "The bridge that joins the NIC and every guest's tap; it carries the host's address.";
      };
      ipv4 = mkOption {
        type = types.nullOr (
          types.submodule {
            options = {
              addresses = mkOption {
                type = types.listOf (
                  types.submodule {
                    options = {
                      address = mkOption { type = types.str; };
                      prefixLength = mkOption { type = types.ints.between 0 32; };
                    };
                  }
                );
                description = "The host's addresses on the bridge.";
              };
              gateway = mkOption {
                type = types.str;
                description = "The default gateway, through the bridge.";
              };
              nameservers = mkOption {
                type = types.listOf types.str;
                default = [ ];
                description = "DNS servers.";
              };
            };
          }
        );
        default = null;
        description = "A static address for the host on the bridge; `null` for DHCP.";
      };
      bridgeMac = mkOption {
        type = types.nullOr mac;
        default = null;
        description = "A fixed MAC for the bridge (e.g. the NIC's), so a DHCP reservation survives the move.";
      };
      bypassHostFirewall = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Keep bridged guest traffic out of iptables: with br_netfilter loaded (Docker loads it)
          and a FORWARD DROP policy, it is silently dropped.
        '';
      };
    };
    installer = {
      package = mkOption {
        type = types.package;
        description = "The host's installer ISO (the flake's `packages.<system>.installer-<host>`).";
      };
      iso = mkOption {
        type = types.str;
        default = "${cfg.installer.package}/iso/vmflake-installer-${cfg.hostName}.iso";
        defaultText = lib.literalExpression ''"''${package}/iso/vmflake-installer-''${hostName}.iso"'';
        description = "The ISO file the install units boot.";
      };
      token = mkOption {
        type = types.strMatching "[[:graph:]]+";
        default = "vmflake-install-opt-in/${cfg.hostName}";
        description = "The opt-in token the seed drive carries; the installer touches nothing without it.";
      };
      flake = mkOption {
        type = types.path;
        default = flakeSource;
        defaultText = lib.literalMD "this flake's `flake.nix`, `flake.lock` and `modules/`";
        description = "The flake network installs hand to the installer; it installs `nixosConfigurations.<guest>` from it.";
      };
    };
    guests = mkOption {
      type = types.attrsOf (types.submodule guestOptions);
      default = { };
      description = "The guests of this host, by name (each guest's hostname).";
    };
    resolvedGuests = mkOption {
      type = types.attrsOf types.anything;
      internal = true;
      readOnly = true;
      default = guests;
      description = "Each guest's options plus the unit names and paths derived from them, for the runtime's other modules.";
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        # Taps and vhost-net, loaded at boot: the sandboxed guests cannot load modules.
        boot.kernelModules = [
          "tun"
          "vhost_net"
        ];
        # Applying this over ssh through the NIC cuts the connection: use a console, or
        # `nixos-rebuild test` with a way back. Only the NIC is listed: each tap's unit makes
        # the tap a port itself. Listed taps would make the scripted backend's bridge unit
        # bind to every tap (one missing tap would take the bridge and the host's address
        # down) and detach and re-attach them on every reload of that unit.
        networking.bridges.${cfg.lan.bridge}.interfaces = [ cfg.lan.nic ];
        networking.interfaces.${cfg.lan.nic}.useDHCP = false;
        # Bridge ports carry no address of the host's: dhcpcd (scripted backend) leaves the taps
        # alone, as it leaves the listed ports of a bridge.
        networking.dhcpcd.denyInterfaces = map (nic: nic.tap) allNics;
        users.users = users;
        users.groups = groups;
        systemd.services = tapUnits // guestUnits // installUnits;
        assertions = lib.concatLists (
          lib.mapAttrsToList (name: g: [
            {
              assertion = g.diskBytes / 512 * 512 == g.diskBytes;
              message = "vmflake.guests.${name}.diskBytes: ${toString g.diskBytes} is not a multiple of 512";
            }
            {
              # Its install unit would be the other guest's own unit.
              assertion = !(cfg.guests ? "${name}-install");
              message = "vmflake.guests.${name}-install: qemu-guest-${name}-install is guest ${name}'s install unit; rename that guest";
            }
          ]) cfg.guests
        );
      }
      # The scripted backend makes the bridge again whenever its unit starts (at boot, or after
      # the NIC came back), with only the NIC as a port: the taps that exist are added back.
      # networkd keeps a bridge it made, so only the scripted unit needs this.
      (lib.mkIf (!(config.networking.useNetworkd or false)) {
        systemd.services = lib.listToAttrs (
          map (
            bridge:
            lib.nameValuePair "${bridge}-netdev" {
              serviceConfig.ExecStartPost = exec (
                [
                  (lib.getExe tap)
                  "attach"
                  bridge
                ]
                ++ map (nic: nic.tap) (builtins.filter (nic: nic.bridge == bridge) allNics)
              );
            }
          ) (lib.unique (map (nic: nic.bridge) allNics))
        );
      })
      (lib.mkIf (cfg.lan.ipv4 == null) { networking.interfaces.${cfg.lan.bridge}.useDHCP = true; })
      (lib.mkIf (cfg.lan.ipv4 != null) {
        networking.interfaces.${cfg.lan.bridge}.ipv4.addresses = cfg.lan.ipv4.addresses;
        networking.defaultGateway = {
          address = cfg.lan.ipv4.gateway;
          interface = cfg.lan.bridge;
        };
        networking.nameservers = cfg.lan.ipv4.nameservers;
      })
      (lib.mkIf (cfg.lan.bridgeMac != null) {
        networking.interfaces.${cfg.lan.bridge}.macAddress = cfg.lan.bridgeMac;
      })
      # systemd applies these when br_netfilter loads; Docker sets them back to 1 when it starts.
      (lib.mkIf cfg.lan.bypassHostFirewall {
        boot.kernel.sysctl = {
          "net.bridge.bridge-nf-call-iptables" = 0;
          "net.bridge.bridge-nf-call-ip6tables" = 0;
          "net.bridge.bridge-nf-call-arptables" = 0;
        };
      })
    ]
  );
}
