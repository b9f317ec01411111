# Test harness (not part of vmflake's output): lists the attribute paths that the modules of a
# vmflake-emitted flake define, and the options that the flake's own modules (the runtime in
# modules/vmflake/) declare, WITHOUT a real nixpkgs. The flake is evaluated against the stand-in
# nixpkgs (test/nix/stand-in-nixpkgs), whose lib.nixosSystem is wrapped: every NixOS system the
# flake makes is evaluated by the stand-in's module system as usual, and the walk then calls each
# of the system's modules with that system's own module arguments (its `config`, `options`,
# `pkgs`, `utils`, `modulesPath`, `_module.args`) and walks what the module returns. So attribute
# names computed from `config` (the runtime's `networking.bridges.${cfg.lan.bridge}`,
# `systemd.services` of every guest) are known; `mkIf` contents are walked when the condition
# holds in that system (a false one defines nothing there). test/nixos/option-paths.test.ts maps
# the paths to option names and checks them against test/fixtures/nixos-options.json.
#
# Each definition comes as { kind; path; }:
#   kind = "own":     set by a module file of the flake (or an inline module of flake.nix);
#   kind = "inline":  set by an inline module that a module file imports (the guest's `config`);
#   kind = "nixpkgs": a nixpkgs module that is imported (path = [ its path under modulesPath ]);
#   kind = "declared": an option that a module file of the flake declares (`options`).
# Attribute names that are module metadata (imports, key, _file …) are not listed.
{ flakeDir, standIn }:
let
  stand = import standIn { };
  inherit (stand) lib;

  # Hands a system's module arguments to the walk: an option of its own holding them.
  probe = args: {
    options.vmflakeOptionWalk = lib.mkOption {
      type = lib.types.raw;
      internal = true;
    };
    config.vmflakeOptionWalk = {
      inherit (args)
        config
        options
        pkgs
        utils
        modulesPath
        ;
      lib = args.lib;
      moduleArgs = args.config._module.args;
    };
  };

  # The module arguments of the system made of `modules`.
  argsOf =
    modules: (stand.lib.nixosSystem { modules = modules ++ [ probe ]; }).config.vmflakeOptionWalk;

  # A module called with the arguments of its system (any other argument it names from
  # `_module.args`, as the module system does).
  load =
    a: m:
    let
      v = if builtins.isPath m || builtins.isString m then import m else m;
      args = {
        inherit (a)
          config
          options
          pkgs
          utils
          lib
          modulesPath
          ;
      };
    in
    if builtins.isFunction v then
      v ((builtins.mapAttrs (n: _: a.moduleArgs.${n}) (builtins.functionArgs v)) // args)
    else
      v;

  # Attributes of a module that are not option definitions.
  moduleMeta = [
    "imports"
    "key"
    "_file"
    "_class"
    "disabledModules"
    "freeformType"
    "meta"
  ];

  # Attribute paths down to the values (lists, strings, numbers, empty sets, derivations). A
  # value that cannot be computed here ends the path: only names are needed.
  walk =
    prefix: v:
    if !(builtins.tryEval (builtins.isAttrs v)).success then
      [ prefix ]
    else if builtins.isAttrs v then
      if v ? _type then
        (
          if v._type == "if" then
            (if v.condition then walk prefix v.content else [ ])
          else if v._type == "override" || v._type == "order" then
            walk prefix v.content
          else if v._type == "merge" then
            builtins.concatMap (walk prefix) v.contents
          else
            [ prefix ]
        )
      else if v ? outPath || v == { } then
        [ prefix ]
      # `_module.args.<name>` values are module arguments (derivations, configurations), not
      # definitions to walk into.
      else if
        prefix == [
          "_module"
          "args"
        ]
      then
        map (k: prefix ++ [ k ]) (builtins.attrNames v)
      else
        builtins.concatMap (k: walk (prefix ++ [ k ]) v.${k}) (builtins.attrNames v)
    else
      [ prefix ];

  # The option paths a module's `options` declares (down to each mkOption).
  declared =
    prefix: v:
    if builtins.isAttrs v && (v._type or "") == "option" then
      [ prefix ]
    else if builtins.isAttrs v then
      builtins.concatMap (k: declared (prefix ++ [ k ]) v.${k}) (builtins.attrNames v)
    else
      [ ];

  nixpkgsModule =
    a: m:
    let
      root = "${toString a.modulesPath}/";
    in
    if (builtins.isPath m || builtins.isString m) && lib.hasPrefix root (toString m) then
      lib.removePrefix root (toString m)
    else
      null;

  collect =
    a: kind: m:
    if nixpkgsModule a m != null then
      [
        {
          kind = "nixpkgs";
          path = [ (nixpkgsModule a m) ];
        }
      ]
    else
      let
        r = load a m;
        structured = r ? options || r ? config;
        defs = if structured then r.config or { } else builtins.removeAttrs r moduleMeta;
      in
      map (path: { inherit kind path; }) (walk [ ] defs)
      ++ map (path: {
        kind = "declared";
        inherit path;
      }) (declared [ ] (r.options or { }))
      ++ builtins.concatMap (i: collect a (if builtins.isPath i then kind else "inline") i) (
        r.imports or [ ]
      );

  # The definitions of `modules`, walked with the arguments of the system made of `system`.
  recordIn = system: modules: builtins.concatMap (collect (argsOf system) "own") modules;
  record = modules: recordIn modules modules;

  # nixpkgs as the flake sees it: the stand-in, with a nixosSystem that also records its modules.
  # A check derivation's command embeds the record between @@ markers.
  recording = stand // {
    lib = stand.lib // {
      nixosSystem =
        { modules, ... }:
        let
          recorded = record modules;
          marker = "@@" + builtins.toJSON recorded + "@@";
          # What the flake reads of a system (the installer package the host module is given,
          # the guests' toplevels an offline installer carries): a derivation the walk stops at.
          build = {
            type = "derivation";
            name = "vmflake-option-walk";
            inherit recorded;
            drvPath = marker;
            outPath = "/nix/store/00000000000000000000000000000000-vmflake-option-walk";
          };
        in
        {
          inherit recorded;
          config.system.build = {
            toplevel = build;
            isoImage = build;
          };
        };
    };
    legacyPackages.x86_64-linux = stand.legacyPackages.x86_64-linux // {
      runCommand = name: env: command: { inherit name command; };
    };
  };

  flake = import (flakeDir + "/flake.nix");
  self =
    flake.outputs {
      inherit self;
      nixpkgs = recording;
    }
    // {
      outPath = flakeDir;
    };
  # A host module alone (nixosModules.<host>) is walked in a system of its own.
  moduleRecord =
    m:
    recordIn
      [
        m
        { nixpkgs.hostPlatform = "x86_64-linux"; }
      ]
      [ m ];
in
{
  nixosModules = builtins.mapAttrs (_: moduleRecord) self.nixosModules;
  nixosConfigurations = builtins.mapAttrs (_: c: c.recorded) self.nixosConfigurations;
  # Systems built into packages (the installer ISO): the modules of their nixosSystem.
  packages = builtins.mapAttrs (_: ps: builtins.mapAttrs (_: p: p.recorded or [ ]) ps) (
    self.packages or { }
  );
  checks = builtins.mapAttrs (_: checks: builtins.mapAttrs (_: c: c.command) checks) self.checks;
}
