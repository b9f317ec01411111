# Test harness (not part of vmflake's output): the NixOS modules that upstream's module-list.nix
# always lists but a slimmed nixpkgs snapshot may leave out. Systems the tests build from such a
# snapshot import them, so they declare what a full nixpkgs declares (a module listed as well is
# deduplicated by the module system, since both are keyed by the same file).
nixpkgs:
let
  moduleList = import "${nixpkgs}/nixos/modules/module-list.nix";
  listed = m: builtins.any (l: toString l == m) moduleList;
  scripted = "${nixpkgs}/nixos/modules/tasks/network-interfaces-scripted.nix";
  scriptedListed = listed scripted;
  # The firewall's and NAT's backends: without them networking.firewall.extraCommands and the
  # nat rules do not exist.
  backends = builtins.filter (m: builtins.pathExists m && !(listed m)) (
    map (n: "${nixpkgs}/nixos/modules/services/networking/${n}.nix") [
      "firewall-iptables"
      "firewall-nftables"
      "nat-iptables"
      "nat-nftables"
    ]
  );
in
{
  inherit scripted scriptedListed backends;
  # Everything a host system needs imported.
  all = (if scriptedListed then [ ] else [ scripted ]) ++ backends;
}
