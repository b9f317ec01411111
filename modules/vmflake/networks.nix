# vmflake runtime: the host's private networks (host-only and NAT bridges) and the guests' NICs on them; copied verbatim into the generated flake's modules/vmflake/.
#
# A network is a bridge with no NIC of the host's on it; each guest NIC on it is a tap of the
# guest's user, made by default.nix's tap units like the LAN's. A NAT network's bridge carries the
# host's address (.1 of its subnet): dnsmasq serves DHCP, with a fixed lease per guest MAC, and DNS
# for guest names on that bridge only, networking.nat masquerades the guests' traffic out through
# the LAN bridge, and the firewall opens DHCP and DNS on that bridge only. A host-only network's
# traffic is never forwarded to or from another interface, with either firewall backend.
{
  config,
  options,
  lib,
  ...
}:
let
  cfg = config.vmflake;
  inherit (lib) mkOption types;

  ifname = types.strMatching "[A-Za-z0-9][A-Za-z0-9_.-]{0,14}";
  mac = types.strMatching "[0-9a-f][02468ace](:[0-9a-f]{2}){5}";
  ipv4 = types.strMatching "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])([.](25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}";

  # Where a NIC goes and the address its DHCP lease gives it: the first NIC's options are the
  # guest's own, next to its tap and MAC.
  placement = {
    network = mkOption {
      type = types.str;
      default = "lan";
      description = "`lan` (the LAN bridge) or the name of one of `vmflake.networks`.";
    };
    dhcpAddress = mkOption {
      type = types.nullOr ipv4;
      default = null;
      description = "On a NAT network: the fixed address the host's DHCP server leases to this NIC's MAC.";
    };
  };

  nicOptions = {
    options = placement // {
      tap = mkOption {
        type = ifname;
        description = "The NIC's tap interface, a port of its network's bridge owned by the guest's user.";
      };
      mac = mkOption {
        type = mac;
        description = "The NIC's MAC (unicast; its tap gets the same with first byte `fe`).";
      };
    };
  };

  networkOptions = {
    options = {
      kind = mkOption {
        type = types.enum [
          "hostOnly"
          "nat"
        ];
        description = "`nat`: DHCP, DNS and NAT from the host; `hostOnly`: the guests and the host only.";
      };
      bridge = mkOption {
        type = ifname;
        description = "The bridge the network's guest taps are ports of; no NIC of the host's is.";
      };
      address = mkOption {
        type = types.nullOr (
          types.submodule {
            options = {
              address = mkOption { type = ipv4; };
              prefixLength = mkOption { type = types.ints.between 8 30; };
            };
          }
        );
        default = null;
        description = "The host's address on the bridge (required for `nat`: the guests' router); `null` for none.";
      };
    };
  };

  networks = lib.mapAttrsToList (name: n: n // { inherit name; }) cfg.networks;
  nat = builtins.filter (n: n.kind == "nat") networks;
  hostOnly = builtins.filter (n: n.kind == "hostOnly") networks;

  # Dotted quads as numbers and back, for the subnet's network address and netmask.
  toNumber = a: builtins.foldl' (n: part: n * 256 + builtins.fromJSON part) 0 (lib.splitString "." a);
  toQuad =
    n:
    lib.concatMapStringsSep "." (d: toString (lib.mod (n / d) 256)) [
      16777216
      65536
      256
      1
    ];
  pow2 = k: builtins.foldl' (n: _: n * 2) 1 (lib.range 1 k);
  blockSize = a: pow2 (32 - a.prefixLength);
  networkAddress = a: toQuad (toNumber a.address / blockSize a * blockSize a);
  netmask = a: toQuad (4294967296 - blockSize a);

  # Every guest NIC, with its guest; the first NIC of a guest is the guest's own tap and MAC.
  nics = lib.concatLists (
    lib.mapAttrsToList (
      name: g:
      lib.imap0 (i: nic: nic // { inherit i name; }) (
        [
          {
            inherit (g)
              tap
              mac
              network
              dhcpAddress
              ;
          }
        ]
        ++ g.extraNics
      )
    ) cfg.guests
  );
  nicsOn = n: builtins.filter (nic: nic.network == n.name) nics;

  # dnsmasq answers DNS for the name of a lease; a guest's later NICs on the same network stay
  # nameless so the name has one address.
  leaseLines =
    n:
    let
      leased = builtins.filter (nic: nic.dhcpAddress != null) (nicsOn n);
      firstOf = nic: (lib.findFirst (o: o.name == nic.name) null leased).i == nic.i;
    in
    map (nic: "${nic.mac},${nic.dhcpAddress}${lib.optionalString (firstOf nic) ",${nic.name}"}") leased;

  # Forwarding from or to a host-only bridge (routing, not the bridge's own switching) is dropped.
  # The firewall's backend. Asked through `options` first: a module system without NixOS's
  # networking options has no nftables (and reading config.networking here would then need the
  # very definitions this module makes).
  nftables = options ? networking.nftables.enable && config.networking.nftables.enable;

  # Deleting first keeps a reload from stacking copies; a rule not there is no error.
  iptablesRules =
    op:
    lib.concatMapStrings (
      n:
      let
        ignore = lib.optionalString (op == "-D") " 2>/dev/null || true";
      in
      ''
        iptables -w ${op} FORWARD -i ${n.bridge} ! -o ${n.bridge} -j DROP${ignore}
        iptables -w ${op} FORWARD -o ${n.bridge} ! -i ${n.bridge} -j DROP${ignore}
      ''
    ) hostOnly;
  nftablesRules = lib.concatMapStrings (n: ''
    iifname "${n.bridge}" oifname != "${n.bridge}" drop
    oifname "${n.bridge}" iifname != "${n.bridge}" drop
  '') hostOnly;
in
{
  options.vmflake = {
    networks = mkOption {
      type = types.attrsOf (types.submodule networkOptions);
      default = { };
      description = "Private networks of the host by name, each a bridge of its own.";
    };
    guests = mkOption {
      type = types.attrsOf (
        types.submodule {
          options = placement // {
            extraNics = mkOption {
              type = types.listOf (types.submodule nicOptions);
              default = [ ];
              description = "The guest's NICs after its first (whose tap and MAC are the guest's `tap` and `mac`).";
            };
          };
        }
      );
    };
  };

  config = lib.mkIf (cfg.enable && networks != [ ]) (
    lib.mkMerge [
      {
        assertions =
          map (nic: {
            assertion = nic.network == "lan" || cfg.networks ? ${nic.network};
            message = "vmflake.guests.${nic.name}: NIC ${nic.tap} is on network ${nic.network}, which is not in vmflake.networks";
          }) nics
          ++ map (n: {
            assertion = n.kind != "nat" || n.address != null;
            message = "vmflake.networks.${n.name}.address: a NAT network needs the host's address (its guests' router)";
          }) networks;
        networking.bridges = lib.listToAttrs (
          map (n: lib.nameValuePair n.bridge { interfaces = [ ]; }) networks
        );
        networking.interfaces = lib.listToAttrs (
          map (
            n:
            lib.nameValuePair n.bridge {
              useDHCP = false;
              ipv4.addresses = lib.optional (n.address != null) { inherit (n.address) address prefixLength; };
            }
          ) networks
        );
        networking.dhcpcd.denyInterfaces = map (n: n.bridge) networks;
      }
      (lib.mkIf (nat != [ ]) {
        networking.nat = {
          enable = true;
          internalInterfaces = map (n: n.bridge) nat;
          externalInterface = lib.mkDefault cfg.lan.bridge;
        };
        # Only what the guests need, and only on their bridges.
        networking.firewall.interfaces = lib.listToAttrs (
          map (
            n:
            lib.nameValuePair n.bridge {
              allowedUDPPorts = [
                53
                67
              ];
              allowedTCPPorts = [ 53 ];
            }
          ) nat
        );
        services.dnsmasq = {
          enable = true;
          # The host keeps its own resolver: dnsmasq serves the guests' bridges only.
          resolveLocalQueries = lib.mkDefault false;
          settings = {
            interface = map (n: n.bridge) nat;
            except-interface = [ "lo" ];
            # Binds each bridge's address as it appears: a bridge made after dnsmasq started
            # is served too.
            bind-dynamic = true;
            # Only the leases below: a MAC without one gets no address.
            dhcp-range = map (n: "${networkAddress n.address},static,${netmask n.address},12h") nat;
            dhcp-host = lib.concatMap leaseLines nat;
            dhcp-authoritative = true;
          };
        };
      })
      (lib.mkIf (hostOnly != [ ] && !nftables) {
        networking.firewall.extraCommands = iptablesRules "-D" + iptablesRules "-I";
        networking.firewall.extraStopCommands = iptablesRules "-D";
      })
      (lib.mkIf (hostOnly != [ ] && nftables) {
        networking.nftables.tables.vmflake-host-only = {
          family = "inet";
          content = ''
            chain forward {
              type filter hook forward priority filter; policy accept;
            ${nftablesRules}}
          '';
        };
      })
    ]
  );
}
