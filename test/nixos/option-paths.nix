# Test harness (not part of vmflake's output): lists the attribute paths that the modules of a
# vmflake-emitted flake define, WITHOUT a real nixpkgs. The module functions are called with the
# stand-in's lib and pkgs (test/nix/stand-in-nixpkgs), and lib.nixosSystem only records the
# modules it is given, so nothing is merged, type-checked or built: this is a static walk of the
# definitions. test/nixos/option-paths.test.ts maps the paths to NixOS option names and checks
# them against test/fixtures/nixos-options.json.
#
# Each path comes as { kind; path; }:
#   kind = "own":     set by a module file of the flake (or an inline module of flake.nix);
#   kind = "inline":  set by an inline module that a module file imports (the guest's `config`);
#   kind = "nixpkgs": a nixpkgs module that is imported (path = [ its path under modulesPath ]).
# Attribute names that are module metadata (imports, key, _file …) are not listed.
{ flakeDir, standIn }:
let
  stand = import standIn { };
  pkgs = stand.legacyPackages.x86_64-linux;
  modulesPath = "/@modulesPath@";
  args = {
    inherit (stand) lib;
    inherit pkgs modulesPath;
    config = throw "option-paths.nix: a module read `config`; the static walk cannot follow it";
    options = throw "option-paths.nix: a module read `options`; the static walk cannot follow it";
  };

  # A module function gets the arguments above; any other argument it names (a `_module.args`
  # value such as the installer ISO) is a stand-in package whose path names the argument, so
  # that strings interpolating it can be forced by the walk.
  load =
    m:
    let
      v = if builtins.isPath m then import m else m;
      unknown = builtins.mapAttrs (n: _: {
        type = "derivation";
        name = n;
        outPath = "/@module-argument-${n}@";
      }) (builtins.functionArgs v);
    in
    if builtins.isFunction v then v (unknown // args) else v;

  # Attributes of a module that are not option definitions.
  moduleMeta = [
    "imports"
    "key"
    "_file"
    "_class"
    "disabledModules"
  ];

  # Attribute paths down to the values (lists, strings, numbers, empty sets, derivations). A value
  # that cannot be computed here (it reads `config`) ends the path: only names are needed.
  walk =
    prefix: v:
    if !(builtins.tryEval (builtins.isAttrs v)).success then
      [ prefix ]
    else if builtins.isAttrs v then
      if v ? _type then
        (
          if v._type == "if" || v._type == "override" || v._type == "order" then
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
      else if prefix == [ "_module" "args" ] then
        map (k: prefix ++ [ k ]) (builtins.attrNames v)
      else
        builtins.concatMap (k: walk (prefix ++ [ k ]) v.${k}) (builtins.attrNames v)
    else
      [ prefix ];

  isNixpkgsModule =
    m: builtins.isString m && builtins.substring 0 (builtins.stringLength modulesPath) m == modulesPath;

  collect =
    kind: m:
    if isNixpkgsModule m then
      [
        {
          kind = "nixpkgs";
          path = [ (builtins.substring (builtins.stringLength modulesPath) (-1) m) ];
        }
      ]
    else
      let
        r = load m;
      in
      map (path: { inherit kind path; }) (walk [ ] (builtins.removeAttrs r moduleMeta))
      ++ builtins.concatMap (
        i: collect (if builtins.isPath i then kind else "inline") i
      ) (r.imports or [ ]);

  record = modules: builtins.concatMap (collect "own") modules;

  # nixpkgs as the flake sees it: the stand-in, with a nixosSystem that records its modules.
  # A check derivation's command embeds the record between @@ markers.
  recording = stand // {
    lib = stand.lib // {
      nixosSystem =
        { modules, ... }:
        let
          recorded = record modules;
          marker = "@@" + builtins.toJSON recorded + "@@";
          build = {
            inherit recorded;
            drvPath = marker;
            outPath = marker;
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
    legacyPackages.x86_64-linux = pkgs // {
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
in
{
  nixosModules = builtins.mapAttrs (_: m: collect "own" m) self.nixosModules;
  nixosConfigurations = builtins.mapAttrs (_: c: c.recorded) self.nixosConfigurations;
  # Systems built into packages (the installer ISO): the modules of their nixosSystem.
  packages = builtins.mapAttrs (
    _: ps: builtins.mapAttrs (_: p: p.recorded or [ ]) ps
  ) (self.packages or { });
  checks = builtins.mapAttrs (
    _: checks: builtins.mapAttrs (_: c: c.command) checks
  ) self.checks;
}
