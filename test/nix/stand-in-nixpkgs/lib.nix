# Stand-in for the parts of nixpkgs' lib that the generated flake uses.
{ pkgs }:
let
  # Deep merge of module definitions: sets merge, lists concatenate, equal values agree, and any
  # other clash is an error (the real module system would need priorities to resolve it).
  merge =
    path: a: b:
    if builtins.isAttrs a && builtins.isAttrs b && !(a ? outPath) && !(b ? outPath) then
      builtins.foldl' (
        acc: name:
        acc
        // {
          ${name} = if acc ? ${name} then merge (path ++ [ name ]) acc.${name} b.${name} else b.${name};
        }
      ) a (builtins.attrNames b)
    else if builtins.isList a && builtins.isList b then
      a ++ b
    else if a == b then
      a
    else
      throw "stand-in module system: conflicting definitions of ${builtins.concatStringsSep "." path}";

  evalModules =
    modules:
    let
      args = {
        inherit config pkgs;
        lib = self;
        modulesPath = ./modules;
      };
      # Stand-in for _module.args (added for the installer): a module function gets each
      # argument it names from the ones above or from the merged config._module.args, lazily, as
      # in the real module system.
      argsFor =
        f:
        let
          named = builtins.functionArgs f;
        in
        if named == { } then
          args
        else
          builtins.mapAttrs (name: _: args.${name} or config._module.args.${name}) named;
      load =
        m:
        let
          v = if builtins.isPath m || builtins.isString m then import m else m;
        in
        if builtins.isFunction v then v (argsFor v) else v;
      # `key` and `_file` name a module; they are not configuration.
      collect =
        m:
        let
          r = load m;
        in
        [ (builtins.removeAttrs r [ "imports" "key" "_file" ]) ]
        ++ builtins.concatMap collect (r.imports or [ ]);
      config = builtins.foldl' (merge [ ]) { } (builtins.concatMap collect modules);
    in
    config;

  hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;

  self = {
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram}";
    # Stand-in: no priorities here, so a forced definition is just the definition.
    mkForce = value: value;
    inherit hasPrefix;
    removePrefix =
      prefix: s:
      if hasPrefix prefix s then
        builtins.substring (builtins.stringLength prefix) (builtins.stringLength s) s
      else
        s;
    nixosSystem =
      { modules, ... }:
      let
        config = evalModules modules;
      in
      {
        config = config // {
          system = (config.system or { }) // {
            # Other modules' system.build entries (the installer's isoImage) are kept.
            build = (config.system.build or { }) // {
              toplevel = derivation {
                name = "nixos-system-${config.networking.hostName or "nixos"}-stand-in";
                system = "x86_64-linux";
                builder = "/bin/sh";
                args = [
                  "-c"
                  "echo \"$configJSON\" > $out"
                ];
                configJSON = builtins.toJSON (builtins.removeAttrs config [ "_module" ]);
              };
            };
          };
        };
      };
  };
in
self
