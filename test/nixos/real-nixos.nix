# Test harness (not part of vmflake's output): evaluates a vmflake-emitted flake against a REAL
# nixpkgs with the real NixOS module system, outside `nix flake` (no lock file, nothing fetched).
# The flake's outputs function is called by hand with the real nixpkgs flake as its input, as
# `nix flake` would after locking. Used by test/nixos/*.test.ts and bench/host-eval.ts with
#   nix eval --impure --json --expr 'import ./real-nixos.nix { ... }'
# One call evaluates ONE NixOS system (a host or a guest) and returns everything the caller
# asserts on: Debian's Nix 2.8 segfaults on some calls that evaluate several systems at once.
{
  # The nixpkgs source, a store path (`/nix/store/…-source`), so that getFlake uses it as is.
  nixpkgs,
  # The directory holding the emitted flake.nix and modules/.
  flakeDir,
  # "host" (rendered units and more), "units" (only the rendered units), "toplevel" (only the
  # toplevel .drv path), "guest", "values" (config values of a guest) or "options".
  scenario,
  # host, units, toplevel: the host whose nixosModules.<host> to evaluate in a minimal host system.
  host ? null,
  # host, units, toplevel: the network backend of that host system.
  networkd ? false,
  # host, units, toplevel: more modules (paths of .nix files) for the host system, e.g. an
  # overlay that bumps a package the way a nixpkgs update does.
  extraModules ? [ ],
  # guest, values: the nixosConfigurations.<guest> to evaluate.
  guest ? null,
  # values: the config paths (lists of names) whose values to return, null where unset.
  valuePaths ? [ ],
  # options: option paths (lists of names, "<name>" for an attribute name) to look up.
  optionPaths ? [ ],
  # options: nixpkgs modules (paths under nixos/modules) that the emitted modules import, whose
  # options are declared only when imported (the installer profile's isoImage.*, …).
  nixosModules ? [ ],
  # options: more modules whose options to look up too (the runtime's modules/vmflake).
  optionModules ? [ ],
}:
let
  np = builtins.getFlake "path:${nixpkgs}";
  lib = np.lib;
  flake = import (flakeDir + "/flake.nix");
  self =
    flake.outputs {
      inherit self;
      nixpkgs = np;
    }
    // {
      outPath = flakeDir;
    };

  # Modules upstream's module-list.nix always lists but a slimmed snapshot may leave out.
  unlisted = import ./unlisted-modules.nix nixpkgs;
  scriptedModule = unlisted.scripted;
  inherit (unlisted) scriptedListed;

  # What the flake's own checks add to a host module: the least a NixOS host needs.
  hostSystem =
    host:
    lib.nixosSystem {
      modules = [
        self.nixosModules.${host}
        {
          imports = unlisted.all;
          nixpkgs.hostPlatform = "x86_64-linux";
          networking.hostName = host;
          networking.useNetworkd = networkd;
          boot.loader.grub.device = "nodev";
          fileSystems."/" = {
            device = "/dev/disk/by-label/nixos";
            fsType = "ext4";
          };
          system.stateVersion = "26.05";
        }
      ]
      ++ extraModules;
    };

  # The derivations a string refers to (e.g. the script an ExecStart= line runs).
  drvsOf = s: builtins.attrNames (builtins.getContext (toString s));

  # Every enabled unit's rendered text (what switch-to-configuration compares).
  unitTexts = cfg: lib.mapAttrs (_: u: u.text) (lib.filterAttrs (_: u: u.enable) cfg.systemd.units);

  # A rendered systemd unit text of every unit, with the .drv files of the programs that the
  # runtime's units run (the derivations each Exec line refers to).
  hostResult =
    host:
    let
      cfg = (hostSystem host).config;
      services = cfg.systemd.services;
      execDrvsOf = lib.mapAttrs (
        _: s: {
          start = drvsOf (s.serviceConfig.ExecStart or "");
          startPre = drvsOf (s.serviceConfig.ExecStartPre or "");
          stop = drvsOf (s.serviceConfig.ExecStop or "");
        }
      );
      runtimeUnits = lib.filterAttrs (
        n: _: lib.hasPrefix "qemu-guest-" n || lib.hasPrefix "vmflake-" n || lib.hasPrefix "virtiofsd-" n
      ) services;
    in
    {
      drvPath = cfg.system.build.toplevel.drvPath;
      useNetworkd = cfg.networking.useNetworkd;
      units = unitTexts cfg;
      networkUnits = lib.mapAttrs (_: u: u.text) (
        lib.filterAttrs (_: u: u.enable) cfg.systemd.network.units
      );
      # The .drv files each networking unit refers to (its scripts, dhcpcd.conf …).
      networkingUnitDrvs = lib.mapAttrs (_: u: drvsOf u.text) (
        lib.filterAttrs (
          n: u: u.enable && builtins.match "(.*-netdev|network-addresses-.*|dhcpcd)[.]service" n != null
        ) cfg.systemd.units
      );
      # The guests', their installs', their taps' and their other runtime units.
      execDrvs = execDrvsOf runtimeUnits;
      # The store path of the program the QEMU of the guest units is (vmflake.qemuPackage).
      qemuExe = lib.getExe cfg.vmflake.qemuPackage;
      installerIso = cfg.vmflake.installer.iso;
      installerFlake = "${cfg.vmflake.installer.flake}";
      users = lib.mapAttrs (_: u: { inherit (u) isSystemUser group extraGroups; }) (
        lib.filterAttrs (n: _: lib.hasPrefix "vm-" n) cfg.users.users
      );
      groups = builtins.attrNames (lib.filterAttrs (n: _: lib.hasPrefix "vm-" n) cfg.users.groups);
      kernelModules = cfg.boot.kernelModules;
      kernelParams = cfg.boot.kernelParams;
      udevRules = cfg.services.udev.extraRules;
      sysctl = lib.filterAttrs (n: _: lib.hasPrefix "net.bridge." n) cfg.boot.kernel.sysctl;
      dhcpcdEnabled = cfg.networking.dhcpcd.enable;
      # Private networks: the dnsmasq.conf derivation, NAT, the firewall's own commands and the
      # nftables tables (firewall, nat and the runtime's), as NixOS renders them.
      dnsmasqConfigDrv =
        if cfg.services.dnsmasq.enable then cfg.services.dnsmasq.configFile.drvPath else null;
      nat = { inherit (cfg.networking.nat) enable internalInterfaces externalInterface; };
      nftablesEnabled = cfg.networking.nftables.enable;
      firewallExtraCommands = cfg.networking.firewall.extraCommands;
      firewallInterfaces = lib.mapAttrs (_: i: { inherit (i) allowedTCPPorts allowedUDPPorts; }) (
        cfg.networking.firewall.interfaces
      );
      nftablesTables = lib.mapAttrs (_: t: { inherit (t) family content; }) (
        lib.filterAttrs (_: t: t.enable) cfg.networking.nftables.tables
      );
      ipForward = cfg.boot.kernel.sysctl."net.ipv4.conf.all.forwarding" or null;
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
      warnings = cfg.warnings;
    };

  guestResult =
    name:
    let
      sys = self.nixosConfigurations.${name};
      cfg = (if scriptedListed then sys else sys.extendModules { modules = [ scriptedModule ]; }).config;
    in
    {
      drvPath = cfg.system.build.toplevel.drvPath;
      hostName = cfg.networking.hostName;
      hostPlatform = cfg.nixpkgs.hostPlatform.system;
      grubDevice = cfg.boot.loader.grub.device;
      systemdBoot = cfg.boot.loader.systemd-boot.enable;
      canTouchEfiVariables = cfg.boot.loader.efi.canTouchEfiVariables;
      bootFileSystem =
        if cfg.fileSystems ? "/boot" then
          { inherit (cfg.fileSystems."/boot") device fsType options; }
        else
          null;
      tpm2 = cfg.security.tpm2.enable;
      kernelParams = cfg.boot.kernelParams;
      initrdModules = cfg.boot.initrd.availableKernelModules;
      growPartition = cfg.boot.growPartition;
      rootFileSystem = { inherit (cfg.fileSystems."/") device fsType autoResize; };
      # Every mount and the fstab NixOS writes (data disks and shares).
      fileSystems = lib.mapAttrs (_: f: {
        inherit (f)
          device
          fsType
          options
          autoFormat
          autoResize
          ;
      }) cfg.fileSystems;
      fstab = cfg.environment.etc.fstab.text;
      # Drop-ins on the units systemd-fstab-generator writes (autoFormat's systemd-makefs@).
      makefsDropIns = lib.mapAttrs (_: u: {
        inherit (u) text overrideStrategy;
        drvs = drvsOf u.text;
      }) (lib.filterAttrs (n: _: lib.hasPrefix "systemd-makefs@" n) cfg.systemd.units);
      sshd = {
        enable = cfg.services.openssh.enable;
        inherit (cfg.services.openssh.settings) PasswordAuthentication KbdInteractiveAuthentication;
      };
      rootKeys = cfg.users.users.root.openssh.authorizedKeys.keys;
      useDHCP = cfg.networking.useDHCP;
      useNetworkd = cfg.networking.useNetworkd;
      networkUnits = lib.mapAttrs (_: u: u.text) (
        lib.filterAttrs (_: u: u.enable) cfg.systemd.network.units
      );
      stateVersion = cfg.system.stateVersion;
      # Guests' own settings from the hosts file: services they enable.
      dnsmasq = cfg.services.dnsmasq.enable;
      dnsmasqUnit = cfg.systemd.units ? "dnsmasq.service";
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
      warnings = cfg.warnings;
    };

  # Option lookup by path; "<name>" steps into the element type of an attrsOf option, or, as the
  # last step, names the attrsOf option itself (`users.groups.<name>`, `boot.kernel.sysctl.<name>`).
  options =
    (lib.nixosSystem {
      modules = [
        {
          imports =
            map (m: "${nixpkgs}/nixos/modules/${m}") nixosModules ++ optionModules ++ unlisted.backends;
          nixpkgs.hostPlatform = "x86_64-linux";
        }
      ];
    }).options;
  lookup =
    cur: path:
    if path == [ ] then
      cur
    else if lib.isOption cur then
      let
        sub = cur.type.getSubOptions cur.loc;
      in
      if builtins.head path == "<name>" then
        (if builtins.tail path == [ ] then cur else lookup sub (builtins.tail path))
      else
        lookup sub path
    else if builtins.isAttrs cur && cur ? ${builtins.head path} then
      lookup cur.${builtins.head path} (builtins.tail path)
    else
      null;
  relative =
    f:
    let
      s = toString f;
      prefix = "${nixpkgs}/";
    in
    if lib.hasPrefix prefix s then lib.removePrefix prefix s else s;
  optionResult =
    path:
    let
      o = lookup options path;
    in
    if o != null && lib.isOption o then
      {
        exists = true;
        # The modules that declare it (for options of a submodule: the module using the submodule).
        declarations = map relative o.declarations;
        # Where the mkOption calls are written (for those: the file holding the submodule's options).
        positions = map (p: relative p.file) (o.declarationPositions or [ ]);
      }
    else
      {
        exists = false;
        declarations = [ ];
        positions = [ ];
      };
in
{
  inherit scriptedListed;
}
// (
  if scenario == "host" then
    { host = hostResult host; }
  else if scenario == "units" then
    { units = unitTexts (hostSystem host).config; }
  else if scenario == "toplevel" then
    { drvPath = (hostSystem host).config.system.build.toplevel.drvPath; }
  else if scenario == "guest" then
    { guest = guestResult guest; }
  else if scenario == "values" then
    let
      cfg = self.nixosConfigurations.${guest}.config;
    in
    {
      values = map (p: lib.attrByPath p null cfg) valuePaths;
      failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions);
      # A full evaluation of the system.
      drvPath = cfg.system.build.toplevel.drvPath;
    }
  else if scenario == "options" then
    {
      options = builtins.listToAttrs (
        map (p: {
          name = builtins.concatStringsSep "." p;
          value = optionResult p;
        }) optionPaths
      );
    }
  else
    throw "real-nixos.nix: unknown scenario ${scenario}"
)
