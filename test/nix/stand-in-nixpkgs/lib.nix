# Stand-in for the parts of nixpkgs' lib that vmflake's flake and runtime module use, with a small
# module system that evaluates NixOS-style modules the way nixpkgs' lib.evalModules does.
#
# Implemented:
#   Modules      paths, functions and attribute sets; `imports`, `key` (a module imported twice
#                counts once, as in nixpkgs), `_file`, `disabledModules`, `freeformType`, `meta`;
#                `options` and `config` sections, or a flat module that is all config. A module
#                function gets `config`, `options`, `lib`, `specialArgs` and the specialArgs
#                themselves, `name` (in a submodule), `pkgs`, `utils` and `modulesPath` (in
#                nixosSystem's modules, not in submodules, as in NixOS), and any other argument
#                from `_module.args`, lazily.
#   Options      mkOption (type, default, apply, readOnly honoured; description, example,
#                defaultText, internal, visible accepted and ignored), mkEnableOption, a simple
#                mkPackageOption, literalExpression, literalMD. Declarations of one option in
#                several modules merge (their types must merge, as nixpkgs' typeMerge: the same
#                simple type, wrappers of mergeable types, submodules' module lists).
#   Properties   mkIf, mkMerge, mkOverride with mkForce (50), mkVMOverride (10), mkDefault (1000)
#                and mkOptionDefault (1500, the priority of an option's default), mkOrder with
#                mkBefore (500) and mkAfter (1500). Only the definitions of the highest priority
#                count. Conditions are pushed down to the options like nixpkgs' pushDownProperties,
#                so `config = mkIf config.x.enable { … }` learns its attribute names without
#                evaluating the condition.
#   Types        str, nonEmptyStr, singleLineStr, strMatching, separatedString, lines, commas,
#                envVar, int, ints.{positive,unsigned,between,u8,u16,u32,s8,s16,s32}, port, float,
#                number, bool, path, package, enum, nullOr, either, oneOf, listOf, attrsOf,
#                lazyAttrsOf, uniq, unique, functionTo, submodule, submoduleWith, attrs, anything,
#                raw, unspecified; mkOptionType for more. A definition that fails a type's check
#                throws "The option `<path>' has a wrong type: <value> is not a <description>".
#   utils        escapeSystemdExecArg(s), as in nixpkgs' nixos/lib/utils.nix.
#   nixosSystem  the module system above plus STAND-IN FREEFORM CONFIG for every path NixOS
#                declares and this stand-in does not (systemd.services, users.users, boot.* …):
#                attribute sets merge deeply, lists concatenate, equal values agree, other
#                clashes are errors, with mkIf/mkMerge/priorities/ordering honoured at every
#                level. system.build.toplevel is a derivation whose configJSON is the JSON of the
#                config (without _module and without definitions that mkIf removed); it fails
#                on failed `assertions`, like NixOS.
#
# Known differences from nixpkgs:
#   - Undeclared paths behave as if NixOS' config had `freeformType = lazyAttrsOf anything`:
#     the config's own names are known without deciding any condition, so `config = mkIf
#     config.x.enable { … }` works; below that, a set's names are those whose definitions mkIf
#     did not remove (attrsOf), so a condition there must not read the set it defines (NixOS
#     declares namespaces such as `networking`, where `networking.a = mkIf
#     config.networking.b …` works; here it recurses), and a name whose definitions were all
#     removed is absent (NixOS would show its default). Only at the top, a name whose
#     definitions mkIf all removed keeps the names they had, as `{ }` or `[ ]` (so
#     config.systemd.services of a disabled module is `{ }`), telling sets from lists by
#     evaluating the removed values. Undeclared lists concatenate and drop mkIf-false elements
#     (NixOS' listOf), in NixOS' order: definitions of modules in reverse order (as nixpkgs
#     merges them), except below the third level (systemd.services.<name>.after …), where NixOS'
#     attrsOf submodule elements reverse them back; nothing checks that an undeclared path exists
#     in NixOS.
#   - Type errors use the message above, not nixpkgs' "A definition for option … is not of
#     type …"; both name the option's path.
#   - No documentation (options.json, descriptions), no mkRenamedOptionModule and friends, no
#     coercedTo, deferredModule, attrTag, pathWith, or type functors beyond what merging two
#     declarations needs; `package` does not turn store-path strings into derivations; mdDoc does
#     not exist (nixpkgs removed it). lib.fileset is absent: the runtime copies its flake with
#     builtins.path.
#   - modulesPath is this stand-in's modules/ directory (a path, not a string).
{ pkgs }:
let
  inherit (builtins)
    all
    any
    attrNames
    attrValues
    concatLists
    concatMap
    concatStringsSep
    elem
    filter
    foldl'
    functionArgs
    genList
    head
    isAttrs
    isBool
    isFloat
    isFunction
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    mapAttrs
    match
    replaceStrings
    stringLength
    substring
    tail
    toJSON
    zipAttrsWith
    ;

  # Lists, attribute sets, strings and small functions, as nixpkgs' lib names them.

  id = x: x;
  const = x: _: x;
  flip =
    f: a: b:
    f b a;
  fix =
    f:
    let
      x = f x;
    in
    x;
  pipe = x: fs: foldl' (acc: f: f acc) x fs;
  min = a: b: if a < b then a else b;
  max = a: b: if a > b then a else b;
  mod = a: b: a - b * (a / b);
  boolToString = b: if b then "true" else "false";
  warn = msg: builtins.trace "evaluation warning: ${msg}";
  warnIf = cond: msg: if cond then warn msg else id;
  assertMsg = pred: msg: pred || throw msg;

  foldr =
    op: nul: list:
    let
      n = length list;
      go = i: if i == n then nul else op (builtins.elemAt list i) (go (i + 1));
    in
    go 0;
  imap0 = f: list: genList (i: f i (builtins.elemAt list i)) (length list);
  imap1 = f: list: genList (i: f (i + 1) (builtins.elemAt list i)) (length list);
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  toList = x: if isList x then x else [ x ];
  flatten = x: if isList x then concatMap flatten x else [ x ];
  last =
    list:
    assert assertMsg (list != [ ]) "lists.last: list must not be empty!";
    builtins.elemAt list (length list - 1);
  init =
    list:
    assert assertMsg (list != [ ]) "lists.init: list must not be empty!";
    genList (builtins.elemAt list) (length list - 1);
  reverseList =
    list:
    let
      n = length list;
    in
    genList (i: builtins.elemAt list (n - 1 - i)) n;
  unique = foldl' (acc: e: if elem e acc then acc else acc ++ [ e ]) [ ];
  count = pred: foldl' (c: x: if pred x then c + 1 else c) 0;
  range = first: last': if first > last' then [ ] else genList (n: first + n) (last' - first + 1);
  intersperse =
    sep: list:
    if list == [ ] then
      [ ]
    else
      tail (
        concatMap (x: [
          sep
          x
        ]) list
      );
  findFirst =
    pred: default: list:
    let
      found = filter pred list;
    in
    if found == [ ] then default else head found;

  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: set: listToAttrs (map (n: f n set.${n}) (attrNames set));
  mapAttrsToList = f: set: map (n: f n set.${n}) (attrNames set);
  filterAttrs =
    pred: set:
    listToAttrs (
      concatMap (n: if pred n set.${n} then [ (nameValuePair n set.${n}) ] else [ ]) (attrNames set)
    );
  concatMapAttrs = f: set: foldl' (acc: a: acc // a) { } (mapAttrsToList f set);
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  optionalAttrs = cond: set: if cond then set else { };
  attrByPath =
    attrPath: default: set:
    if attrPath == [ ] then
      set
    else if isAttrs set && set ? ${head attrPath} then
      attrByPath (tail attrPath) default set.${head attrPath}
    else
      default;
  getAttrFromPath =
    attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${concatStringsSep "." attrPath}'") set;
  setAttrByPath =
    attrPath: value:
    if attrPath == [ ] then value else { ${head attrPath} = setAttrByPath (tail attrPath) value; };
  recursiveUpdateUntil =
    pred: lhs: rhs:
    let
      go =
        path: l: r:
        zipAttrsWith
          (
            n: vs:
            if length vs == 1 then
              head vs
            else
              let
                a = head vs;
                b = builtins.elemAt vs 1;
              in
              if pred (path ++ [ n ]) a b then b else go (path ++ [ n ]) a b
          )
          [
            l
            r
          ];
    in
    go [ ] lhs rhs;
  recursiveUpdate = recursiveUpdateUntil (
    _: l: r:
    !(isAttrs l && isAttrs r)
  );
  isDerivation = x: isAttrs x && (x.type or null) == "derivation";
  isStringLike = x: isString x || isPath x || x ? outPath || x ? __toString;
  storeDirPrefix = "${builtins.storeDir}/";
  isStorePath =
    x:
    isStringLike x
    && (
      let
        s = toString x;
      in
      hasPrefix storeDirPrefix s
      && match "[^/]+" (substring (stringLength storeDirPrefix) (stringLength s) s) != null
    );

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  hasSuffix =
    suffix: s:
    let
      ls = stringLength s;
      lx = stringLength suffix;
    in
    ls >= lx && substring (ls - lx) lx s == suffix;
  hasInfix = infix: s: match ".*${escapeRegex infix}.*" s != null;
  removePrefix =
    prefix: s: if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
  removeSuffix =
    suffix: s: if hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;
  concatStrings = concatStringsSep "";
  concatMapStrings = f: list: concatStrings (map f list);
  concatMapStringsSep =
    sep: f: list:
    concatStringsSep sep (map f list);
  optionalString = cond: s: if cond then s else "";
  stringToCharacters = s: genList (i: substring i 1 s) (stringLength s);
  escape = chars: replaceStrings chars (map (c: "\\${c}") chars);
  escapeRegex = escape (stringToCharacters "\\[{()^$?*+|.");
  splitString = sep: s: filter isString (builtins.split (escapeRegex (toString sep)) (toString s));
  upperChars = stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  lowerChars = stringToCharacters "abcdefghijklmnopqrstuvwxyz";
  toUpper = replaceStrings lowerChars upperChars;
  toLower = replaceStrings upperChars lowerChars;
  # A POSIX shell word: as is when it has only safe characters, else single-quoted.
  escapeShellArg =
    arg:
    let
      s = toString arg;
    in
    if match "[[:alnum:],._+:@%/-]+" s != null then s else "'${replaceStrings [ "'" ] [ "'\\''" ] s}'";
  escapeShellArgs = concatMapStringsSep " " escapeShellArg;
  versionOlder = v1: v2: builtins.compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: !versionOlder v1 v2;
  getName = x: (builtins.parseDrvName (if isString x then x else x.name)).name;
  getExe' = drv: program: "${drv}/bin/${program}";
  getExe =
    drv:
    getExe' drv (
      drv.meta.mainProgram
        or (warn "getExe: package ${drv.name or "?"} has no meta.mainProgram" (getName drv))
    );

  # How errors show values and option paths.

  isIdentifier = s: match "[a-zA-Z_][a-zA-Z0-9_'-]*" s != null;
  showOption =
    loc:
    concatMapStringsSep "." (
      p: if isIdentifier p || p == "*" || p == "<name>" then p else toJSON p
    ) loc;
  showValue =
    depth: v:
    if isString v then
      toJSON v
    else if isInt v || isFloat v then
      toString v
    else if isBool v then
      boolToString v
    else if v == null then
      "null"
    else if isPath v then
      toString v
    else if isFunction v then
      "<function>"
    else if isList v then
      if v == [ ] then
        "[ ]"
      else if depth <= 0 then
        "[ … ]"
      else
        "[ ${concatMapStringsSep " " (showValue (depth - 1)) v} ]"
    else if isDerivation v then
      "<derivation ${v.name or "?"}>"
    else if v == { } then
      "{ }"
    else if depth <= 0 then
      "{ … }"
    else
      "{ ${concatMapStringsSep " " (n: "${n} = ${showValue (depth - 1) v.${n}};") (attrNames v)} }";
  showDefs = defs: concatMapStrings (d: "\n- In `${d.file}': ${showValue 3 d.value}") defs;

  # Properties: what mkIf, mkMerge, mkOverride and mkOrder make, and how definitions lose them.

  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkOverride = priority: content: {
    _type = "override";
    inherit priority content;
  };
  defaultOverridePriority = 100;
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkImageMediaOverride = mkOverride 60;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  mkOrder = priority: content: {
    _type = "order";
    inherit priority content;
  };
  defaultOrderPriority = 1000;
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;

  # A value's property tag; "" for plain values (which need not be attribute sets).
  tagOf = v: v._type or "";

  # mkMerge flattened and mkIf decided: the plain (or mkOverride/mkOrder) values that remain.
  discharge =
    loc: v:
    let
      t = tagOf v;
    in
    if t == "merge" then
      concatMap (discharge loc) v.contents
    else if t == "if" then
      if isBool v.condition then
        if v.condition then discharge loc v.content else [ ]
      else
        throw "The option `${showOption loc}': mkIf called with a non-Boolean condition: ${showValue 1 v.condition}"
    else
      [ v ];
  dischargeDefs =
    loc: defs:
    concatMap (
      d:
      map (value: {
        inherit (d) file;
        inherit value;
      }) (discharge loc d.value)
    ) defs;

  # Only the definitions of the highest priority (the lowest number) count.
  filterOverrides =
    defs:
    let
      prioOf = d: if tagOf d.value == "override" then d.value.priority else defaultOverridePriority;
      highestPrio = foldl' (p: d: min p (prioOf d)) 9999 defs;
      strip = d: if tagOf d.value == "override" then d // { value = d.value.content; } else d;
    in
    {
      inherit highestPrio;
      values = concatMap (d: if prioOf d == highestPrio then [ (strip d) ] else [ ]) defs;
    };

  # mkOrder: a stable sort by order priority (builtins.sort is stable).
  sortByOrder =
    defs:
    if any (d: tagOf d.value == "order") defs then
      map (d: removeAttrs d [ "priority" ]) (
        builtins.sort (a: b: a.priority < b.priority) (
          map (
            d:
            if tagOf d.value == "order" then
              d
              // {
                inherit (d.value) priority;
                value = d.value.content;
              }
            else
              d // { priority = defaultOrderPriority; }
          ) defs
        )
      )
    else
      defs;

  # Looks through properties without deciding them (no condition is evaluated).
  peel =
    v:
    let
      t = tagOf v;
    in
    if t == "merge" then
      concatMap peel v.contents
    else if t == "if" || t == "override" || t == "order" then
      peel v.content
    else
      [ v ];

  # A set of options (or of undeclared names) defined through properties: one plain attribute set
  # per definition, the properties moved onto each attribute (mkIf's condition is not evaluated).
  pushDown =
    loc: file: v:
    let
      t = tagOf v;
    in
    if t == "merge" then
      concatMap (pushDown loc file) v.contents
    else if t == "if" then
      map (mapAttrs (_: mkIf v.condition)) (pushDown loc file v.content)
    else if t == "override" then
      map (mapAttrs (_: mkOverride v.priority)) (pushDown loc file v.content)
    else if isAttrs v && t == "" then
      [ v ]
    else if loc == [ ] then
      throw "The module `${file}' has a config that is not an attribute set: ${showValue 1 v}"
    else
      throw "The option `${showOption loc}' is a set of options, but `${file}' defines it as ${showValue 1 v}, which is not an attribute set.";

  # The definitions of each attribute of a list of attribute-set definitions.
  defsByName =
    defs:
    zipAttrsWith (_: ds: ds) (
      map (
        d:
        mapAttrs (_: value: {
          inherit (d) file;
          inherit value;
        }) d.value
      ) defs
    );

  # Definitions of one option merged by its type: properties, priorities, order, check, merge.
  mergeDefinitions =
    loc: type: defs:
    let
      filtered = filterOverrides (dischargeDefs loc defs);
      defsFinal = sortByOrder filtered.values;
      isDefined = defsFinal != [ ];
      bad = filter (d: !type.check d.value) defsFinal;
      mergedValue =
        if isDefined then
          if bad == [ ] then
            type.merge loc defsFinal
          else
            throw "The option `${showOption loc}' has a wrong type: ${showValue 2 (head bad).value} is not a ${type.description}. Definition in `${(head bad).file}'."
        else if type.emptyValue ? value then
          type.emptyValue.value
        else
          throw "The option `${showOption loc}' was accessed but has no value defined. Try setting the option.";
    in
    {
      inherit defsFinal isDefined mergedValue;
      inherit (filtered) highestPrio;
      optionalValue = if isDefined then { value = mergedValue; } else { };
    };

  mergeEqualOption =
    loc: defs:
    (foldl' (
      first: d:
      if d.value == first.value then
        first
      else
        throw "The option `${showOption loc}' has conflicting definition values:${
          showDefs [
            first
            d
          ]
        }\nUse `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions."
    ) (head defs) (tail defs)).value;
  mergeUniqueOption =
    message: merge: loc: defs:
    if length defs == 1 then
      merge loc defs
    else
      throw "The option `${showOption loc}' is defined multiple times while it's expected to be unique.${message}\nDefinition values:${showDefs defs}";
  mergeOneOption = mergeUniqueOption "" (_: defs: (head defs).value);
  # types.unspecified: one value, or lists concatenated, sets merged, strings joined …
  mergeDefaultOption =
    loc: defs:
    let
      vs = map (d: d.value) defs;
    in
    if length vs == 1 then
      head vs
    else if all isFunction vs then
      x: mergeDefaultOption loc (map (d: d // { value = d.value x; }) defs)
    else if all isList vs then
      concatLists vs
    else if all isAttrs vs then
      foldl' (a: b: a // b) { } vs
    else if all isBool vs then
      any id vs
    else if all isString vs then
      concatStrings vs
    else if all isInt vs && all (x: x == head vs) vs then
      head vs
    else
      throw "Cannot merge definitions of `${showOption loc}'. Definition values:${showDefs defs}";

  # Option declarations.

  mkOption = attrs: attrs // { _type = "option"; };
  isOption = x: isAttrs x && tagOf x == "option";
  mkEnableOption =
    name:
    mkOption {
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
      type = types.bool;
    };
  mkPackageOption =
    pkgs': name:
    {
      nullable ? false,
      default ? name,
      example ? null,
      extraDescription ? "",
      pkgsText ? "pkgs",
    }:
    let
      namePath = toList name;
      defaultPath = if default == null then null else toList default;
    in
    mkOption (
      {
        type = if nullable then types.nullOr types.package else types.package;
        description = "The ${concatStringsSep "." namePath} package to use.${extraDescription}";
      }
      // optionalAttrs (defaultPath != null) {
        default =
          attrByPath defaultPath (throw "${pkgsText}.${concatStringsSep "." defaultPath} cannot be found")
            pkgs';
        defaultText = literalExpression "${pkgsText}.${concatStringsSep "." defaultPath}";
      }
      // optionalAttrs (example != null) { inherit example; }
    );
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  literalMD = text: {
    _type = "literalMD";
    inherit text;
  };

  # Types. Each has: name, description (for messages), check, merge (loc -> defs -> value),
  # emptyValue (`{ value = …; }` when "no definition" still has a value), typeMerge (another
  # declaration's type -> the merged type, or null when the two cannot merge) and, for types
  # that hold submodules, extendSubModules (more modules -> the type with them).

  isType = type: x: (x._type or "") == type;
  mkOptionType =
    {
      name,
      description ? name,
      check ? (_: true),
      merge ? mergeDefaultOption,
      emptyValue ? { },
      typeMerge ? null,
      extendSubModules ? null,
      ...
    }@attrs:
    let
      self = attrs // {
        _type = "option-type";
        inherit
          name
          description
          check
          merge
          emptyValue
          extendSubModules
          ;
        typeMerge =
          if typeMerge != null then
            typeMerge
          else
            other: if other.name == name && other.description == description then self else null;
      };
    in
    self;
  # A type built around element types: merges with the same constructor around mergeable ones.
  wrapperType =
    constructor: elems: attrs:
    mkOptionType (
      attrs
      // {
        wrapped = elems;
        typeMerge =
          other:
          if other.name != attrs.name || !(other ? wrapped) || length other.wrapped != length elems then
            null
          else
            let
              merged = genList (i: (builtins.elemAt elems i).typeMerge (builtins.elemAt other.wrapped i)) (
                length elems
              );
            in
            if any (t: t == null) merged then null else constructor merged;
        extendSubModules =
          if length elems == 1 && (head elems).extendSubModules != null then
            modules: constructor [ ((head elems).extendSubModules modules) ]
          else
            null;
      }
    );

  types = rec {
    inherit isType mkOptionType;

    raw = mkOptionType {
      name = "raw";
      description = "raw value";
      merge = mergeOneOption;
    };
    unspecified = mkOptionType {
      name = "unspecified";
      description = "unspecified value";
    };
    # Sets merge per name (as attrsOf anything), packages must be single, functions merge their
    # results, anything else must be equal.
    anything = mkOptionType {
      name = "anything";
      check = _: true;
      merge =
        loc: defs:
        let
          kind = v: if isAttrs v && isStringLike v then "stringCoercibleSet" else builtins.typeOf v;
          k = kind (head defs).value;
        in
        if any (d: kind d.value != k) defs then
          throw "The option `${showOption loc}' has conflicting option types in ${
            concatMapStringsSep " and " (d: "`${d.file}'") defs
          }"
        else if k == "set" then
          (attrsOf anything).merge loc defs
        else if k == "stringCoercibleSet" then
          mergeOneOption loc defs
        else if k == "lambda" then
          arg: anything.merge (loc ++ [ "<function body>" ]) (map (d: d // { value = d.value arg; }) defs)
        else
          mergeEqualOption loc defs;
    };

    bool = mkOptionType {
      name = "bool";
      description = "boolean";
      check = isBool;
      merge = mergeEqualOption;
    };

    int = mkOptionType {
      name = "int";
      description = "signed integer";
      check = isInt;
      merge = mergeEqualOption;
    };
    ints =
      let
        betweenDesc = lo: hi: "${toString lo} and ${toString hi} (both inclusive)";
        between' =
          name: description: lo: hi:
          mkOptionType {
            inherit name description;
            check = x: isInt x && x >= lo && x <= hi;
            merge = mergeEqualOption;
          };
        unsign =
          bits:
          between' "unsignedInt${toString bits}"
            "${toString bits} bit unsigned integer; between ${betweenDesc 0 (pow2 bits - 1)}"
            0
            (pow2 bits - 1);
        sign =
          bits:
          between' "signedInt${toString bits}" "${toString bits} bit signed integer; between ${
            betweenDesc (0 - pow2 (bits - 1)) (pow2 (bits - 1) - 1)
          }" (0 - pow2 (bits - 1)) (pow2 (bits - 1) - 1);
        pow2 = n: foldl' (acc: _: acc * 2) 1 (genList id n);
      in
      {
        between =
          lo: hi:
          assert assertMsg (lo <= hi) "ints.between: lowest must be smaller than highest";
          between' "intBetween" "integer between ${betweenDesc lo hi}" lo hi;
        unsigned = mkOptionType {
          name = "unsignedInt";
          description = "unsigned integer, meaning >=0";
          check = x: isInt x && x >= 0;
          merge = mergeEqualOption;
        };
        positive = mkOptionType {
          name = "positiveInt";
          description = "positive integer, meaning >0";
          check = x: isInt x && x > 0;
          merge = mergeEqualOption;
        };
        u8 = unsign 8;
        u16 = unsign 16;
        u32 = unsign 32;
        s8 = sign 8;
        s16 = sign 16;
        s32 = sign 32;
      };
    port = ints.u16;
    float = mkOptionType {
      name = "float";
      description = "floating point number";
      check = isFloat;
      merge = mergeEqualOption;
    };
    number = either int float;

    str = mkOptionType {
      name = "str";
      description = "string";
      check = isString;
      merge = mergeEqualOption;
    };
    nonEmptyStr = mkOptionType {
      name = "nonEmptyStr";
      description = "non-empty string";
      check = x: isString x && match "[ \t\n]*" x == null;
      merge = mergeEqualOption;
    };
    singleLineStr = mkOptionType {
      name = "singleLineStr";
      description = "(optionally newline-terminated) single-line string";
      check = x: isString x && match "[^\n\r]*\n?" x != null;
      merge = mergeEqualOption;
    };
    strMatching =
      pattern:
      mkOptionType {
        name = "strMatching ${toJSON pattern}";
        description = "string matching the pattern ${pattern}";
        check = x: isString x && match pattern x != null;
        merge = mergeEqualOption;
      };
    separatedString =
      sep:
      mkOptionType {
        name = "separatedString";
        description =
          if sep == "" then "Concatenated string" else "strings concatenated with ${toJSON sep}";
        check = isString;
        merge = _: defs: concatStringsSep sep (map (d: d.value) defs);
      };
    lines = separatedString "\n";
    commas = separatedString ",";
    envVar = separatedString ":";

    attrs = mkOptionType {
      name = "attrs";
      description = "attribute set";
      check = isAttrs;
      merge = _: foldl' (res: d: res // d.value) { };
      emptyValue.value = { };
    };
    package = mkOptionType {
      name = "package";
      check = x: isDerivation x || isStorePath x;
      merge = mergeOneOption;
    };
    path = mkOptionType {
      name = "path";
      description = "absolute path";
      check = x: isStringLike x && substring 0 1 (toString x) == "/";
      merge = mergeEqualOption;
    };

    enum =
      values:
      mkOptionType {
        name = "enum";
        description =
          if values == [ ] then
            "impossible (empty enum)"
          else if length values == 1 then
            "value ${showValue 1 (head values)} (singular enum)"
          else
            "one of ${concatMapStringsSep ", " (showValue 1) values}";
        check = x: elem x values;
        merge = mergeEqualOption;
        enumValues = values;
        typeMerge =
          other: if other.name == "enum" then enum (lists.unique (values ++ other.enumValues)) else null;
      };

    nullOr =
      elemType:
      wrapperType (ts: nullOr (head ts)) [ elemType ] {
        name = "nullOr";
        description = "null or ${elemType.description}";
        check = x: x == null || elemType.check x;
        merge =
          loc: defs:
          let
            nulls = count (d: d.value == null) defs;
          in
          if nulls == length defs then
            null
          else if nulls != 0 then
            throw "The option `${showOption loc}' is defined both null and not null, in ${
              concatMapStringsSep " and " (d: "`${d.file}'") defs
            }."
          else
            elemType.merge loc defs;
        emptyValue.value = null;
      };
    either =
      t1: t2:
      wrapperType (ts: either (head ts) (builtins.elemAt ts 1)) [ t1 t2 ] {
        name = "either";
        description = "${t1.description} or ${t2.description}";
        check = x: t1.check x || t2.check x;
        merge =
          loc: defs:
          let
            vs = map (d: d.value) defs;
          in
          if all t1.check vs then
            t1.merge loc defs
          else if all t2.check vs then
            t2.merge loc defs
          else
            mergeOneOption loc defs;
      };
    oneOf =
      ts:
      if ts == [ ] then
        throw "types.oneOf needs at least one type in its argument"
      else
        foldl' either (head ts) (tail ts);

    # Each element goes through the properties on its own, so `[ (mkIf false x) ]` is `[ ]`.
    listOf =
      elemType:
      wrapperType (ts: listOf (head ts)) [ elemType ] {
        name = "listOf";
        description = "list of ${elemType.description}";
        check = isList;
        merge =
          loc: defs:
          map (x: x.value) (
            filter (x: x ? value) (
              concatLists (
                imap1 (
                  n: d:
                  imap1 (
                    m: v:
                    (mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType [
                      {
                        inherit (d) file;
                        value = v;
                      }
                    ]).optionalValue
                  ) d.value
                ) defs
              )
            )
          );
        emptyValue.value = [ ];
      };
    attrsWith =
      lazy: elemType:
      wrapperType (ts: attrsWith lazy (head ts)) [ elemType ] {
        name = if lazy then "lazyAttrsOf" else "attrsOf";
        description = "${optionalString lazy "lazy "}attribute set of ${elemType.description}";
        check = isAttrs;
        merge =
          loc: defs:
          let
            merged = mapAttrs (n: mergeDefinitions (loc ++ [ n ]) elemType) (defsByName defs);
          in
          if lazy then
            mapAttrs (
              _: r: if r.isDefined then r.mergedValue else elemType.emptyValue.value or r.mergedValue
            ) merged
          else
            mapAttrs (_: r: r.mergedValue) (filterAttrs (_: r: r.isDefined) merged);
        emptyValue.value = { };
      };
    attrsOf = attrsWith false;
    lazyAttrsOf = attrsWith true;
    unique =
      { message }:
      type:
      mkOptionType {
        name = "unique";
        inherit (type) description check emptyValue;
        merge = mergeUniqueOption (optionalString (message != "") "\n${message}") type.merge;
      };
    uniq = unique { message = ""; };
    functionTo =
      elemType:
      wrapperType (ts: functionTo (head ts)) [ elemType ] {
        name = "functionTo";
        description = "function that evaluates to a(n) ${elemType.description}";
        check = isFunction;
        merge =
          loc: defs: arg:
          (mergeDefinitions (loc ++ [ "<function body>" ]) elemType (
            map (d: d // { value = d.value arg; }) defs
          )).mergedValue;
      };

    # Each definition becomes a module of the submodule's own evaluation (a set is its config
    # for `submodule`); `name` is the last element of the option's path (the attribute name
    # under attrsOf).
    submoduleWith =
      {
        modules,
        specialArgs ? { },
        shorthandOnlyDefinesConfig ? false,
        description ? null,
        ...
      }@attrs:
      let
        asModule =
          d:
          if shorthandOnlyDefinesConfig && isAttrs d.value then
            {
              _file = d.file;
              config = d.value;
            }
          else
            {
              _file = d.file;
              imports = [ d.value ];
            };
        evalAt =
          loc: defs:
          (evalModuleSet {
            modules = modules ++ map asModule defs;
            inherit specialArgs;
            prefix = loc;
            name = if loc == [ ] then "‹name›" else last loc;
          }).config;
      in
      mkOptionType {
        name = "submodule";
        description = if description != null then description else "submodule";
        check = x: isAttrs x || isFunction x || path.check x;
        merge = evalAt;
        emptyValue.value = evalAt [ ] [ ];
        submoduleModules = modules;
        inherit specialArgs shorthandOnlyDefinesConfig;
        typeMerge =
          other:
          if other.name == "submodule" && other ? submoduleModules then
            submoduleWith (
              attrs
              // {
                modules = modules ++ other.submoduleModules;
                specialArgs = specialArgs // other.specialArgs;
              }
            )
          else
            null;
        extendSubModules = more: submoduleWith (attrs // { modules = modules ++ more; });
      };
    submodule =
      modules:
      submoduleWith {
        shorthandOnlyDefinesConfig = true;
        modules = toList modules;
      };
  };

  # The declarations of several modules, as a tree: a name is either an option (all its
  # declarations merged) or a set of further names.
  mergeDecls =
    loc: decls:
    mapAttrs (
      n: ds:
      let
        opts = filter (d: isOption d.value) ds;
      in
      if opts == [ ] then
        {
          isOption = false;
          children = mergeDecls (loc ++ [ n ]) ds;
        }
      else
        {
          isOption = true;
          opt = mergeOptionDecls (loc ++ [ n ]) opts (filter (d: !isOption d.value) ds);
        }
    ) (defsByName (map (d: d // { value = checkOptionSet loc d; }) decls));
  checkOptionSet =
    loc: d:
    if isAttrs d.value then
      d.value
    else
      throw "The option declarations at `${showOption loc}' in `${d.file}' are not an attribute set: ${showValue 1 d.value}";
  mergeOptionDecls =
    loc: opts: extras:
    let
      files = map (d: d.file) opts;
      clash =
        field:
        let
          having = filter (d: d.value ? ${field}) opts;
        in
        if length having > 1 then (builtins.elemAt having 1).file else null;
      clashes = filter (f: f != null) (
        map clash [
          "default"
          "example"
          "description"
          "apply"
        ]
      );
      alreadyDeclared =
        file:
        "The option `${showOption loc}' in `${file}' is already declared in ${
          concatMapStringsSep " and " (f: "`${f}'") (filter (f: f != file) files)
        }.";
      typed = filter (d: d.value ? type) opts;
      baseType =
        if typed == [ ] then
          types.unspecified
        else
          foldl' (
            t: d:
            let
              merged = t.typeMerge d.value.type;
            in
            if merged == null then throw (alreadyDeclared d.file) else merged
          ) (head typed).value.type (tail typed);
      type =
        if extras == [ ] then
          baseType
        else if baseType.extendSubModules != null then
          baseType.extendSubModules (
            map (d: {
              _file = d.file;
              options = d.value;
            }) extras
          )
        else
          throw "The option `${showOption loc}' in ${
            concatMapStringsSep " and " (f: "`${f}'") files
          } is a prefix of options declared in `${(head extras).file}'.";
    in
    if clashes != [ ] then
      throw (alreadyDeclared (head clashes))
    else
      foldl' (acc: d: acc // d.value) { } opts
      // {
        inherit type;
        declarations = files;
      };

  # The module system proper. A node of the option tree yields `value` (what config shows),
  # `hasValue` (false when reading `value` throws: nothing defines it and it has no default),
  # `clean` (the value without what would throw, for system.build.toplevel's JSON), `unmatched`
  # (definitions of undeclared names, with their path below the node) and `options`.
  evalNode =
    ctx: loc: decls: defs:
    let
      byName = defsByName (
        concatMap (d: map (value: d // { inherit value; }) (pushDown loc d.file d.value)) defs
      );
      undeclared = filter (n: !(decls ? ${n})) (attrNames byName);
      declared = mapAttrs (
        n: e:
        if e.isOption then
          evalOption (loc ++ [ n ]) e.opt (byName.${n} or [ ])
        else
          evalNode ctx (loc ++ [ n ]) e.children (byName.${n} or [ ])
      ) decls;
      children =
        declared
        // optionalAttrs ctx.freeform (genAttrs undeclared (n: freeformChild (loc ++ [ n ]) byName.${n}));
    in
    {
      value = mapAttrs (_: c: c.value) children;
      hasValue = true;
      clean = mapAttrs (_: c: c.clean) (filterAttrs (_: c: c.hasValue) children);
      unmatched =
        map (n: {
          prefix = [ n ];
          defs = byName.${n};
        }) undeclared
        ++ concatLists (
          mapAttrsToList (n: c: map (u: u // { prefix = [ n ] ++ u.prefix; }) c.unmatched) declared
        );
      options = mapAttrs (_: c: c.options) declared;
    };

  evalOption =
    loc: opt: defs:
    let
      withDefault =
        optional (opt ? default) {
          file = head opt.declarations;
          value = mkOptionDefault opt.default;
        }
        ++ defs;
      res =
        if opt.readOnly or false && length withDefault > 1 then
          throw "The option `${showOption loc}' is read-only, but it's set multiple times. Definition values:${showDefs withDefault}"
        else
          mergeDefinitions loc opt.type withDefault;
      value = if opt ? apply then opt.apply res.mergedValue else res.mergedValue;
    in
    {
      inherit value;
      hasValue = res.isDefined || opt.type.emptyValue ? value;
      clean = value;
      unmatched = [ ];
      options = opt // {
        inherit value loc;
        inherit (res) isDefined highestPrio;
        definitions = map (d: d.value) res.defsFinal;
        files = map (d: d.file) res.defsFinal;
      };
    };

  # Stand-in freeform config (nixosSystem): an undeclared name in a set whose names are known
  # without deciding any condition (the config itself, or a set of declared options), as if NixOS
  # had a freeformType of lazyAttrsOf (an anything that concatenates lists). When mkIf removed
  # every definition of it, a set keeps the names its definitions had, each `{ }` or `[ ]` when
  # its definitions were sets or lists (so config.systemd.services of a disabled module is `{ }`,
  # the empty value of NixOS' attrsOf); telling which looks at the removed definitions' values,
  # one level down from the namespace whose names were computed anyway.
  isSetValue = v: isAttrs v && !(v ? outPath) && tagOf v == "";
  freeformChild =
    loc: defs:
    let
      merged = freeformMerge loc defs;
      peeled = concatMap (d: peel d.value) defs;
      emptyOf =
        loc': vs:
        if all isSetValue vs then
          { }
        else if all isList vs then
          [ ]
        else
          throw "The option `${showOption loc'}' was accessed but has no value defined (mkIf removed its definitions). Try setting the option.";
      removed =
        if all isSetValue peeled then
          {
            value = zipAttrsWith (n: vs: emptyOf (loc ++ [ n ]) (concatMap peel vs)) peeled;
            clean = { };
          }
        else if all isList peeled then
          {
            value = [ ];
            clean = [ ];
          }
        else
          { };
    in
    if merged.defined || !(removed ? value) then
      merged // { hasValue = merged.defined; }
    else
      removed
      // {
        hasValue = true;
        unmatched = [ ];
        options = { };
      };
  # An undeclared value: properties decided here (like an option of type attrsOf/listOf/
  # anything); sets merge per name, dropping names whose definitions mkIf removed.
  freeformMerge =
    loc: defs:
    let
      # The third level (systemd.services.<name>, users.users.<name> …) is an element of an
      # attrsOf submodule in NixOS, whose own evaluation reverses the order once more: lists
      # below it come in module order, lists above it in reverse.
      filtered = filterOverrides (dischargeDefs loc (if length loc == 3 then reverseList defs else defs));
      final = sortByOrder filtered.values;
      values = map (d: d.value) final;
      isDefined = final != [ ];
      kind =
        if all isSetValue values then
          "set"
        else if all isList values then
          "list"
        else
          "value";
      children = mapAttrs (n: freeformMerge (loc ++ [ n ])) (defsByName final);
      kept = filterAttrs (_: c: c.defined) children;
      value =
        if !isDefined then
          throw "The option `${showOption loc}' was accessed but has no value defined. Try setting the option."
        else if kind == "set" then
          mapAttrs (_: c: c.value) kept
        else if kind == "list" then
          concatMap (discharge loc) (concatLists values)
        else
          mergeEqualOption loc final;
    in
    {
      inherit value;
      defined = isDefined;
      clean = if isDefined && kind == "set" then mapAttrs (_: c: c.clean) kept else value;
      unmatched = [ ];
      options = { };
    };

  # The options every evaluation has.
  internalModule = {
    _file = "<stand-in module system>";
    key = "<stand-in module system>";
    options._module = {
      args = mkOption {
        type = types.lazyAttrsOf types.raw;
        internal = true;
        description = "Arguments for every module function, beyond the module system's own.";
      };
      check = mkOption {
        type = types.bool;
        default = true;
        internal = true;
        description = "Whether definitions of undeclared options are errors.";
      };
    };
  };

  # lib.evalModules with the stand-in's extras: `freeform` (nixosSystem's undeclared paths),
  # `baseArgs` (pkgs, utils) and `name` (a submodule's).
  evalModuleSet =
    {
      modules,
      specialArgs ? { },
      prefix ? [ ],
      freeform ? false,
      baseArgs ? { },
      name ? null,
    }@evalArgs:
    let
      ctx = { inherit freeform; };
      args =
        baseArgs
        // {
          lib = self;
          inherit config options specialArgs;
        }
        // optionalAttrs (name != null) { inherit name; }
        // specialArgs;
      # Each named argument from the arguments above or, lazily, from config._module.args.
      call =
        f:
        f (
          args
          // mapAttrs (
            n: _:
            if args ? ${n} then
              args.${n}
            else
              config._module.args.${n}
                or (throw "stand-in module system: no module argument `${n}' (not in _module.args)")
          ) (functionArgs f)
        );
      metaAttrs = [
        "_class"
        "_file"
        "key"
        "imports"
        "require"
        "disabledModules"
        "freeformType"
      ];
      normalise =
        file: key: m:
        let
          file' = m._file or file;
          structured = m ? config || m ? options;
          extra = attrNames (
            removeAttrs m (
              metaAttrs
              ++ [
                "config"
                "options"
                "meta"
              ]
            )
          );
        in
        if !isAttrs m then
          throw "stand-in module system: the module in `${file}' is not an attribute set: ${showValue 1 m}"
        else if structured && extra != [ ] then
          throw "Module `${file'}' has an unsupported attribute `${head extra}'. This is caused by introducing a top-level `config' or `options' attribute. Add configuration attributes immediately on the top level instead, or move all of them (namely: ${concatStringsSep " " extra}) into the explicit `config' attribute."
        else
          {
            file = file';
            key = if m ? key then toString m.key else key;
            imports = (m.imports or [ ]) ++ (m.require or [ ]);
            disabledModules = m.disabledModules or [ ];
            freeformType = m.freeformType or null;
            options = m.options or { };
            config =
              if structured then
                if m ? meta then
                  mkMerge [
                    (m.config or { })
                    { inherit (m) meta; }
                  ]
                else
                  m.config or { }
              else
                removeAttrs m metaAttrs;
          };
      load =
        file: key: m:
        if isPath m || isString m then
          let
            v = import m;
          in
          normalise (toString m) (toString m) (if isFunction v then call v else v)
        else if isFunction m then
          normalise file key (call m)
        else
          normalise file key m;
      entry =
        file: key: m:
        let
          module = load file key m;
        in
        {
          inherit (module) key;
          inherit module;
        };
      imported = e: imap1 (i: entry e.module.file "${e.module.key}:anon-${toString i}") e.module.imports;
      start = [
        (entry "<stand-in module system>" "<stand-in module system>" internalModule)
      ]
      ++ optional (name != null) (
        entry "<stand-in module system>" "<submodule name>" { _module.args.name = name; }
      )
      ++ imap1 (i: entry "<unknown-file>" ":anon-${toString i}") modules;
      all' = builtins.genericClosure {
        startSet = start;
        operator = imported;
      };
      disabledKey =
        file: d:
        if isAttrs d && d ? key then
          toString d.key
        else if isString d && !(hasPrefix "/" d) then
          toString (args.modulesPath or "") + "/" + d
        else if isPath d || isString d then
          toString d
        else
          throw "disabledModules in `${file}': ${showValue 1 d} is not a path, a string or a module with a key";
      disabled = concatMap (e: map (disabledKey e.module.file) e.module.disabledModules) all';
      kept =
        if disabled == [ ] then
          all'
        else
          builtins.genericClosure {
            startSet = filter (e: !elem e.key disabled) start;
            operator = e: filter (e: !elem e.key disabled) (imported e);
          };
      collected = map (e: e.module) kept;

      root =
        evalNode ctx prefix
          (mergeDecls prefix (
            map (m: {
              inherit (m) file;
              value = m.options;
            }) collected
          ))
          # nixpkgs merges the definitions of modules in the reverse of their collected order
          # (the last module's list elements come first).
          (
            map (m: {
              inherit (m) file;
              value = m.config;
            }) (reverseList collected)
          );
      freeformTypes = filter (t: t != null) (map (m: m.freeformType) collected);
      unmatchedDefs = concatMap (
        u:
        map (d: {
          inherit (d) file;
          value = setAttrByPath u.prefix d.value;
        }) u.defs
      ) root.unmatched;
      freeformConfig =
        if unmatchedDefs == [ ] then { } else (head freeformTypes).merge prefix unmatchedDefs;
      config = if freeformTypes == [ ] then root.value else recursiveUpdate freeformConfig root.value;
      options = root.options;
      # Definitions of undeclared options are errors (NixOS' `_module.check`), outside the
      # stand-in's freeform config and a freeformType.
      checked =
        if freeform || freeformTypes != [ ] || root.unmatched == [ ] || !config._module.check then
          id
        else
          let
            u = head root.unmatched;
          in
          throw "The option `${
            showOption (prefix ++ u.prefix)
          }' does not exist. Definition values:${showDefs u.defs}";
    in
    {
      config = checked (removeAttrs config [ "_module" ]);
      inherit options;
      _module = checked config._module;
      # The config without definitions that mkIf removed (stand-in; for toplevel's JSON).
      cleanConfig = checked (
        removeAttrs (
          if freeformTypes == [ ] then root.clean else recursiveUpdate freeformConfig root.clean
        ) [ "_module" ]
      );
      extendModules =
        {
          modules ? [ ],
          specialArgs ? { },
          prefix ? evalArgs.prefix or [ ],
        }:
        evalModuleSet (
          evalArgs
          // {
            modules = evalArgs.modules ++ modules;
            specialArgs = evalArgs.specialArgs or { } // specialArgs;
            inherit prefix;
          }
        );
    };

  # nixpkgs' nixos/lib/utils.nix: one argument of an Exec* line, quoted for systemd (a JSON
  # string, so spaces, quotes, backslashes and newlines survive systemd's own unquoting) with
  # systemd's specifiers (%) and environment substitution ($) escaped by doubling.
  escapeSystemdExecArg =
    arg:
    let
      s =
        if isPath arg then
          "${arg}"
        else if isString arg then
          arg
        else if isInt arg || isFloat arg || isDerivation arg then
          toString arg
        else
          throw "escapeSystemdExecArg only allows strings, paths, numbers and derivations";
    in
    replaceStrings [ "%" "$" ] [ "%%" "$$" ] (toJSON s);
  utils = {
    inherit escapeSystemdExecArg;
    escapeSystemdExecArgs = concatMapStringsSep " " escapeSystemdExecArg;
  };

  attrsets = {
    inherit
      attrByPath
      attrNames
      attrValues
      concatMapAttrs
      filterAttrs
      genAttrs
      getAttrFromPath
      isDerivation
      listToAttrs
      mapAttrs
      mapAttrs'
      mapAttrsToList
      nameValuePair
      optionalAttrs
      recursiveUpdate
      recursiveUpdateUntil
      setAttrByPath
      zipAttrsWith
      ;
    hasAttr = builtins.hasAttr;
  };
  lists = {
    inherit
      all
      any
      concatLists
      concatMap
      count
      elem
      filter
      findFirst
      flatten
      foldl'
      foldr
      genList
      head
      imap0
      imap1
      init
      intersperse
      last
      length
      optional
      optionals
      range
      reverseList
      tail
      toList
      unique
      ;
    foldl = foldl';
    sort = builtins.sort;
  };
  strings = {
    inherit
      concatMapStrings
      concatMapStringsSep
      concatStrings
      concatStringsSep
      escape
      escapeRegex
      escapeShellArg
      escapeShellArgs
      hasInfix
      hasPrefix
      hasSuffix
      isStorePath
      isStringLike
      optionalString
      removePrefix
      removeSuffix
      replaceStrings
      splitString
      stringLength
      stringToCharacters
      substring
      toLower
      toUpper
      versionAtLeast
      versionOlder
      ;
    isString = builtins.isString;
  };
  trivial = {
    inherit
      boolToString
      const
      fix
      flip
      id
      max
      min
      mod
      pipe
      warn
      warnIf
      ;
    isBool = builtins.isBool;
    isFunction = builtins.isFunction;
    isInt = builtins.isInt;
    isFloat = builtins.isFloat;
    seq = builtins.seq;
    toFunction = v: if isFunction v then v else _: v;
  };
  options' = {
    inherit
      isOption
      literalExpression
      literalMD
      mergeDefaultOption
      mergeEqualOption
      mergeOneOption
      mergeUniqueOption
      mkEnableOption
      mkOption
      mkPackageOption
      showOption
      ;
  };
  modulesLib = {
    inherit
      defaultOrderPriority
      defaultOverridePriority
      mkAfter
      mkBefore
      mkDefault
      mkForce
      mkIf
      mkImageMediaOverride
      mkMerge
      mkOptionDefault
      mkOrder
      mkOverride
      mkVMOverride
      evalModules
      ;
  };

  # lib.evalModules: as nixpkgs' (definitions of undeclared options are errors).
  evalModules =
    {
      modules,
      specialArgs ? { },
      prefix ? [ ],
    }:
    evalModuleSet { inherit modules specialArgs prefix; };

  self =
    attrsets
    // lists
    // strings
    // trivial
    // options'
    // modulesLib
    // {
      inherit
        attrsets
        lists
        strings
        trivial
        types
        getExe
        getExe'
        getName
        assertMsg
        isType
        mkOptionType
        ;
      options = options';
      modules = modulesLib;
      isList = builtins.isList;
      isAttrs = builtins.isAttrs;
      isPath = builtins.isPath;
      map = builtins.map;
      trace = builtins.trace;
      toString = builtins.toString;

      nixosSystem =
        {
          modules,
          specialArgs ? { },
          ...
        }:
        let
          eval = evalModuleSet {
            inherit modules;
            specialArgs = {
              modulesPath = ./modules;
            }
            // specialArgs;
            freeform = true;
            baseArgs = { inherit pkgs utils; };
          };
          config = eval.config;
          # What mkIf removed is absent here (config would throw on reading it).
          clean = eval.cleanConfig;
          failed = filter (a: !a.assertion) (clean.assertions or [ ]);
          warnings = clean.warnings or [ ];
          toplevel = derivation {
            name = "nixos-system-${clean.networking.hostName or "nixos"}-stand-in";
            system = "x86_64-linux";
            builder = "/bin/sh";
            args = [
              "-c"
              "echo \"$configJSON\" > $out"
            ];
            configJSON = toJSON clean;
          };
        in
        {
          inherit (eval) options extendModules;
          inherit pkgs;
          config = config // {
            system = (config.system or { }) // {
              # Other modules' system.build entries (the installer's isoImage) are kept.
              build = (clean.system.build or { }) // {
                toplevel =
                  if failed != [ ] then
                    throw "\nFailed assertions:\n${concatMapStrings (a: "- ${a.message}\n") failed}"
                  else
                    foldr (w: v: warn w v) toplevel warnings;
              };
            };
          };
        };
    };
in
self
