# Run by `vmflake types` (not part of any flake): the option declarations of a NixOS system as
# JSON, each option's type walked structurally (its `name`, `nestedTypes` and
# `functor.payload`), never parsed from the type's description. `cli/types/option-data.ts`
# describes the result. Read-only and internal options are left out; a renamed option
# (`mkRenamedOptionModule`) is kept as a pointer to its new name, a removed one as a marker.
{
  # The nixpkgs source (a path or a store path string).
  nixpkgs,
  # More modules, whose options are walked too (the tests' option fixture).
  extraModules ? [ ],
  # The platform the guests run on (defaults depend on it).
  system ? "x86_64-linux",
  # Nesting limits: types such as `pkgs.formats.json { }`'s value type are recursive.
  maxTypeDepth ? 8,
  maxSubmoduleDepth ? 6,
  # The longest rendered default or example kept (documentation, not data).
  maxTextLength ? 400,
  # Only the options below this path (the caller splits a walk that fails: an error such as an
  # undefined variable in one option's example cannot be caught in Nix).
  at ? [ ],
  # Render descriptions, defaults and examples.
  docs ? true,
  # Only these names of the set at `at` (null: all of them).
  only ? null,
  # Return only the names below `at` and whether `at` is an option.
  list ? false,
}:
let
  inherit (builtins)
    attrNames
    concatMap
    filter
    isAttrs
    isList
    isString
    length
    match
    substring
    tryEval
    ;

  lib = import (nixpkgs + "/lib");

  evaluated = import (nixpkgs + "/nixos/lib/eval-config.nix") {
    inherit system;
    modules = [ { nixpkgs.hostPlatform = lib.mkDefault system; } ] ++ extraModules;
  };

  # A value, or null when evaluating it throws.
  attempt =
    v:
    let
      r = tryEval (builtins.deepSeq v v);
    in
    if r.success then r.value else null;

  shorten =
    s:
    if s != null && isString s && builtins.stringLength s > maxTextLength then
      substring 0 maxTextLength s + " …"
    else
      s;

  # `default`/`example` as the manual shows them: Nix text (literalExpression, literalMD or a
  # rendered value).
  rendered =
    v:
    let
      r = attempt (lib.options.renderOptionValue v);
    in
    if !docs || r == null then
      null
    else
      {
        text = shorten r.text;
        markdown = r._type == "literalMD";
      };

  typeName = t: t.name or "unspecified";
  payloadOf = t: t.functor.payload or null;
  nested = t: t.nestedTypes or { };

  # The members of `either a (either b c)` as one list.
  unionMembers =
    t:
    if typeName t == "either" then
      unionMembers (nested t).left ++ unionMembers (nested t).right
    else
      [ t ];

  walkType =
    depth: subDepth: t:
    let
      name = typeName t;
      n = nested t;
      inner = walkType (depth + 1) subDepth;
      # Only an option's own type: a nested type's description may never end (recursive value
      # types such as `pkgs.formats.json { }`'s describe themselves in terms of themselves).
      described = if depth == 0 then attempt (t.description or null) else null;
      base = {
        description = if isString described then described else null;
      };
      anything = base // {
        kind = "any";
        inherit name;
      };
      is = prefix: match "${prefix}.*" name != null;
    in
    if depth > maxTypeDepth then
      anything
    else if name == "bool" || name == "boolByOr" then
      base // { kind = "bool"; }
    else if
      name == "int" || is "intBetween" || is "unsignedInt" || is "signedInt" || is "positiveInt"
    then
      base // { kind = "int"; }
    else if
      name == "float"
      || name == "number"
      || is "numberBetween"
      || is "numberNonnegative"
      || is "numberPositive"
    then
      base // { kind = "float"; }
    else if name == "separatedString" then
      base
      // {
        kind = "str";
        separator = (payloadOf t).sep or null;
      }
    else if
      name == "str"
      || name == "string"
      || name == "nonEmptyStr"
      || name == "singleLineStr"
      || is "strMatching"
      || is "passwdEntry"
    then
      base // { kind = "str"; }
    else if name == "path" || name == "pathInStore" then
      base // { kind = "path"; }
    else if name == "package" || name == "shellPackage" then
      base // { kind = "package"; }
    else if name == "enum" then
      let
        p = payloadOf t;
        values = if isList p then p else p.values or [ ];
        plain = filter (v: isString v || builtins.isInt v || builtins.isBool v) values;
      in
      if length plain == length values then
        base
        // {
          kind = "enum";
          inherit values;
        }
      else
        anything
    else if name == "nullOr" && n ? elemType then
      base
      // {
        kind = "nullOr";
        of = inner n.elemType;
      }
    else if name == "either" then
      base
      // {
        kind = "union";
        of = map inner (unionMembers t);
      }
    else if name == "coercedTo" && n ? coercedType && n ? finalType then
      base
      // {
        kind = "union";
        of = [
          (inner n.coercedType)
          (inner n.finalType)
        ];
      }
    else if (name == "listOf" || name == "nonEmptyListOf") && n ? elemType then
      base
      // {
        kind = "list";
        of = inner n.elemType;
      }
    else if (name == "attrsOf" || name == "lazyAttrsOf" || name == "loaOf") && n ? elemType then
      base
      // {
        kind = "attrs";
        of = inner n.elemType;
        placeholder = (payloadOf t).placeholder or "name";
      }
    else if (name == "uniq" || name == "unique") && n ? elemType then
      walkType depth subDepth n.elemType
    else if name == "attrs" then
      base
      // {
        kind = "attrs";
        of = anything // {
          description = null;
        };
        placeholder = "name";
      }
    else if name == "submodule" && t ? getSubOptions then
      if subDepth >= maxSubmoduleDepth then
        anything
      else
        let
          sub = tryEval (t.getSubOptions [ ]);
          free = n.freeformType or null;
        in
        if !sub.success then
          anything
        # A whole NixOS system as a submodule (`specialisation.<name>.configuration`): the
        # caller types it as the top level.
        else if sub.value ? system && sub.value ? boot && sub.value ? services then
          base // { kind = "nixos"; }
        else
          base
          // {
            kind = "submodule";
            options = walkOptions (depth + 1) (subDepth + 1) (
              builtins.removeAttrs sub.value [ "_freeformOptions" ]
            );
            freeform = if free == null then null else inner free;
          }
    else
      anything;

  # `Alias of {option}`new.name`.` is what doRename writes into a renamed option's description.
  renamedTo =
    opt:
    let
      m = match "Alias of [{]option[}]`([^`]+)`[.]" (opt.description or "");
    in
    if (opt.visible or true) == false && m != null then builtins.head m else null;

  # mkRemovedOptionModule: invisible, no description, and its apply always throws.
  isRemoved =
    opt:
    (opt.visible or true) == false
    && !(opt ? description)
    && opt ? apply
    && !(tryEval (opt.apply null)).success;

  option =
    depth: subDepth: opt:
    let
      to = renamedTo opt;
      description = if docs then attempt (opt.description or null) else null;
      hasDefault = opt ? defaultText || opt ? default;
    in
    if to != null then
      {
        kind = "renamed";
        inherit to;
      }
    else if isRemoved opt then
      { kind = "removed"; }
    else
      {
        kind = "option";
        description = if isString description then description else null;
        default = if hasDefault then rendered (opt.defaultText or opt.default) else null;
        example = if opt ? example then rendered opt.example else null;
        type = walkType depth subDepth (opt.type or { name = "unspecified"; });
      };

  isOption = v: isAttrs v && (v._type or "") == "option";
  hidden = opt: (opt.readOnly or false) || (opt.internal or false);

  # An attribute set of options and option sets, as { <name> = option | { kind = "group"; … }; }.
  walkOptions =
    depth: subDepth: set:
    let
      entries = concatMap (
        k:
        let
          v = set.${k};
          r = tryEval (isOption v);
        in
        if k == "_module" || !r.success then
          [ ]
        else if r.value then
          (if hidden v then [ ] else [ (lib.nameValuePair k (option depth subDepth v)) ])
        else if isAttrs v then
          let
            group = walkOptions depth subDepth v;
          in
          if group == { } then
            [ ]
          else
            [
              (lib.nameValuePair k {
                kind = "group";
                options = group;
              })
            ]
        else
          [ ]
      ) (attrNames set);
    in
    builtins.listToAttrs entries;
  whole = lib.attrByPath at { } evaluated.options;
  selected = if only == null || isOption whole then whole else lib.getAttrs only whole;
in
if list then
  {
    isOption = isOption selected;
    names = if isOption selected then [ ] else attrNames selected;
  }
else
  {
    version = 1;
    nixosRelease = attempt lib.trivial.release;
    # The walk of `at`, as an entry of its parent set (an option or a group).
    entry =
      if isOption selected then
        (if hidden selected then null else option 0 0 selected)
      else
        {
          kind = "group";
          options = walkOptions 0 0 selected;
        };
  }
