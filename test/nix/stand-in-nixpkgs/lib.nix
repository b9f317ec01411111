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
      load =
        m:
        let
          v = if builtins.isPath m || builtins.isString m then import m else m;
        in
        if builtins.isFunction v then v args else v;
      collect =
        m:
        let
          r = load m;
        in
        [ (builtins.removeAttrs r [ "imports" ]) ] ++ builtins.concatMap collect (r.imports or [ ]);
      config = builtins.foldl' (merge [ ]) { } (builtins.concatMap collect modules);
    in
    config;

  self = {
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram}";
    nixosSystem =
      { modules, ... }:
      let
        config = evalModules modules;
      in
      {
        config = config // {
          system = (config.system or { }) // {
            build.toplevel = derivation {
              name = "nixos-system-${config.networking.hostName or "nixos"}-stand-in";
              system = "x86_64-linux";
              builder = "/bin/sh";
              args = [
                "-c"
                "echo \"$configJSON\" > $out"
              ];
              configJSON = builtins.toJSON config;
            };
          };
        };
      };
  };
in
self
