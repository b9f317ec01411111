/**
 * The stand-in nixpkgs' module system (test/nix/stand-in-nixpkgs/lib.nix), one small module set per
 * feature, evaluated by Debian's Nix. With NIXPKGS=/path/to/nixpkgs the same modules also go
 * through the real lib.evalModules and must give the same results (errors: both fail, naming the
 * option's path), so the stand-in cannot drift from nixpkgs unnoticed.
 *
 * Cases marked `nixos` use paths that NixOS declares and the stand-in does not (systemd.services,
 * users.users …): the stand-in evaluates them with its nixosSystem (freeform), the real tier with
 * lib.evalModules plus REAL_NIXOS_DECLS, a few of NixOS' own declarations of those paths, reduced.
 */
import { describe, expect, it } from "vitest";
import { evalJson, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { describeWith } from "../support/tools.ts";

const NIXPKGS: string | undefined = process.env.NIXPKGS || undefined;

interface Case {
  readonly name: string;
  /** A Nix list of modules; `lib` is in scope. */
  readonly modules: string;
  /** What to return; `config` is the evaluated config. */
  readonly get?: string;
  readonly expected: unknown;
  readonly nixos?: boolean;
}

interface ErrorCase {
  readonly name: string;
  readonly modules: string;
  readonly get: string;
  readonly nixos?: boolean;
  /** What the stand-in's message says (its own wording where it differs from nixpkgs). */
  readonly standIn: readonly RegExp[];
  /** What both messages say: at least the option's path. */
  readonly both: readonly RegExp[];
}

// NixOS' declarations of the undeclared paths the nixos cases use, reduced to what they define.
const REAL_NIXOS_DECLS = `({ lib, ... }:
  let t = lib.types; in {
    options.systemd.services = lib.mkOption {
      type = t.attrsOf (t.submodule {
        options = {
          description = lib.mkOption { type = t.str; };
          wantedBy = lib.mkOption { type = t.listOf t.str; default = [ ]; };
          after = lib.mkOption { type = t.listOf t.str; default = [ ]; };
          serviceConfig = lib.mkOption { type = t.attrsOf t.anything; default = { }; };
        };
      });
      default = { };
    };
    options.users.users = lib.mkOption {
      type = t.attrsOf (t.submodule {
        options.isSystemUser = lib.mkOption { type = t.bool; default = false; };
        options.extraGroups = lib.mkOption { type = t.listOf t.str; default = [ ]; };
      });
      default = { };
    };
    options.boot.kernelModules = lib.mkOption { type = t.listOf t.str; default = [ ]; };
  })`;

// A runtime-module-shaped module: options, and `config = mkIf cfg.enable (mkMerge …)` over
// undeclared NixOS paths, with guests as attrsOf submodule.
const VMFLAKE_LIKE = `({ config, lib, utils, ... }:
  let cfg = config.vmflake; in {
    options.vmflake = {
      enable = lib.mkEnableOption "guests";
      guests = lib.mkOption {
        type = lib.types.attrsOf (lib.types.submodule ({ name, ... }: {
          options.autostart = lib.mkOption { type = lib.types.bool; default = true; };
          options.user = lib.mkOption { type = lib.types.str; default = "vm-\${name}"; };
        }));
        default = { };
      };
    };
    config = lib.mkIf cfg.enable (lib.mkMerge [
      {
        systemd.services = lib.mapAttrs' (name: g: lib.nameValuePair "qemu-guest-\${name}" {
          wantedBy = lib.optional g.autostart "multi-user.target";
          serviceConfig.User = g.user;
          serviceConfig.ExecStart = utils.escapeSystemdExecArgs [ "/bin/qemu" "-name" "guest=\${name}" ];
        }) cfg.guests;
        users.users = lib.mapAttrs' (_: g: lib.nameValuePair g.user { isSystemUser = true; }) cfg.guests;
      }
      (lib.mkIf (cfg.guests ? bob) { boot.kernelModules = [ "tun" ]; })
    ]);
  })`;

const GUESTS_SUBMODULE = `lib.types.attrsOf (lib.types.submodule ({ name, ... }: {
    options.user = lib.mkOption { type = lib.types.str; default = "vm-\${name}"; };
    options.cpus = lib.mkOption { type = lib.types.ints.between 1 255; default = 1; };
    options.tap = lib.mkOption { type = lib.types.str; };
    options.autostart = lib.mkOption { type = lib.types.bool; default = true; };
  }))`;

const cases: readonly Case[] = [
  {
    name: "defaults, apply, mkEnableOption, and the empty values of list and nullOr options",
    modules: `[ { options = {
      a = lib.mkOption { type = lib.types.int; default = 3; };
      s = lib.mkOption { type = lib.types.str; default = "x"; description = "ignored"; example = "y"; };
      l = lib.mkOption { type = lib.types.listOf lib.types.int; };
      n = lib.mkOption { type = lib.types.nullOr lib.types.str; };
      e = lib.mkEnableOption "e";
      p = lib.mkOption { type = lib.types.int; default = 1; apply = x: x * 10; };
      nested.deeper.b = lib.mkOption { type = lib.types.bool; default = true; defaultText = lib.literalExpression "true"; };
    }; } ]`,
    expected: { a: 3, s: "x", l: [], n: null, e: false, p: 10, nested: { deeper: { b: true } } },
  },
  {
    name: "mkForce wins over plain values and over the default",
    modules: `[
      { options.a = lib.mkOption { type = lib.types.int; default = 1; };
        options.b = lib.mkOption { type = lib.types.int; }; }
      { a = 2; b = 3; }
      { a = lib.mkForce 4; b = lib.mkForce 5; }
      { b = 6; }
    ]`,
    expected: { a: 4, b: 5 },
  },
  {
    name: "mkDefault loses to a plain value and wins over the default; mkOverride in between",
    modules: `[
      { options = {
          a = lib.mkOption { type = lib.types.int; default = 1; };
          b = lib.mkOption { type = lib.types.int; default = 1; };
          c = lib.mkOption { type = lib.types.int; };
          d = lib.mkOption { type = lib.types.int; default = 1; };
          e = lib.mkOption { type = lib.types.int; };
        }; }
      { a = lib.mkDefault 2; b = lib.mkDefault 3; c = lib.mkDefault 7; d = lib.mkOptionDefault 1; }
      { b = 4; e = lib.mkDefault 9; }
      { e = lib.mkOverride 900 8; }
    ]`,
    expected: { a: 2, b: 4, c: 7, d: 1, e: 8 },
  },
  {
    name: "mkIf false drops a definition, in a config section and in list elements",
    modules: `[
      { options.a = lib.mkOption { type = lib.types.int; default = 1; };
        options.l = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; }; }
      { config = lib.mkIf false { a = 2; l = [ "x" ]; }; }
      { l = [ (lib.mkIf false "y") "z" (lib.mkIf true "w") ]; }
    ]`,
    expected: { a: 1, l: ["z", "w"] },
  },
  {
    name: "conditions that read config do not recurse (mkIf is pushed down, not decided, for names)",
    modules: `[
      ({ config, lib, ... }: {
        options.x.enable = lib.mkEnableOption "x";
        options.x.port = lib.mkOption { type = lib.types.port; default = 80; };
        options.y.enable = lib.mkEnableOption "y";
        options.out = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; };
        config = lib.mkIf config.x.enable {
          y.enable = true;
          out = [ "x on \${toString config.x.port}" ];
        };
      })
      ({ config, lib, ... }: { config = lib.mkIf config.y.enable { out = [ "y after x" ]; x.port = 8080; }; })
      { x.enable = true; }
    ]`,
    expected: {
      x: { enable: true, port: 8080 },
      y: { enable: true },
      out: ["y after x", "x on 8080"],
    },
  },
  {
    name: "mkMerge, with mkIf and mkMerge inside",
    modules: `[
      { options.l = lib.mkOption { type = lib.types.listOf lib.types.int; default = [ ]; };
        options.s = lib.mkOption { type = lib.types.attrsOf lib.types.int; default = { }; }; }
      { config = lib.mkMerge [
          { l = [ 1 ]; s.a = 1; }
          (lib.mkIf true { l = [ 2 ]; s.b = 2; })
          (lib.mkIf false { l = [ 3 ]; s.c = 3; })
          (lib.mkMerge [ { s.d = 4; } ])
        ]; }
    ]`,
    expected: { l: [1, 2], s: { a: 1, b: 2, d: 4 } },
  },
  {
    name: "attrsOf submodule: `name` is the attribute name; definitions merge per guest",
    modules: `[
      { options.guests = lib.mkOption { type = ${GUESTS_SUBMODULE}; default = { }; }; }
      { guests.alice.tap = "tap0"; guests.bob = { cpus = 2; tap = "tap1"; }; }
      { guests.bob.user = "robert"; guests.carol = lib.mkIf false { tap = "tap2"; }; }
      { guests.alice.tap = "tap0"; }
    ]`,
    expected: {
      guests: {
        alice: { user: "vm-alice", cpus: 1, tap: "tap0", autostart: true },
        bob: { user: "robert", cpus: 2, tap: "tap1", autostart: true },
      },
    },
  },
  {
    name: "host overrides: mkForce on a guest's option; mkForce on a whole guest drops its other definitions",
    modules: `[
      { options.guests = lib.mkOption { type = ${GUESTS_SUBMODULE}; default = { }; }; }
      { guests.alice = { tap = "tap0"; autostart = true; }; guests.bob = { tap = "tap1"; user = "robert"; }; }
      { guests.alice.autostart = lib.mkForce false; guests.bob = lib.mkForce { tap = "tap9"; cpus = 3; }; }
    ]`,
    expected: {
      guests: {
        alice: { user: "vm-alice", cpus: 1, tap: "tap0", autostart: false },
        bob: { user: "vm-bob", cpus: 3, tap: "tap9", autostart: true },
      },
    },
  },
  {
    name: "submodule defaults computed from the submodule's own options, and overridden",
    modules: `[
      { options.g = lib.mkOption {
          type = lib.types.attrsOf (lib.types.submodule ({ config, name, lib, ... }: {
            options.memoryMiB = lib.mkOption { type = lib.types.ints.positive; };
            options.install.memoryMiB = lib.mkOption {
              type = lib.types.ints.positive;
              default = if config.memoryMiB > 3072 then config.memoryMiB else 3072;
            };
            options.stateDir = lib.mkOption { type = lib.types.str; };
            config.stateDir = lib.mkDefault "/var/lib/\${name}";
          }));
        }; }
      { g.a.memoryMiB = 1024; g.b = { memoryMiB = 4096; stateDir = "/srv/b"; }; }
      { g.c = { memoryMiB = 512; install.memoryMiB = 1024; }; }
    ]`,
    expected: {
      g: {
        a: { memoryMiB: 1024, install: { memoryMiB: 3072 }, stateDir: "/var/lib/a" },
        b: { memoryMiB: 4096, install: { memoryMiB: 4096 }, stateDir: "/srv/b" },
        c: { memoryMiB: 512, install: { memoryMiB: 1024 }, stateDir: "/var/lib/c" },
      },
    },
  },
  {
    name: "nullOr submodule and listOf submodule",
    modules: `[
      { options.vnc = lib.mkOption {
          type = lib.types.nullOr (lib.types.submodule {
            options.display = lib.mkOption { type = lib.types.ints.between 0 99; };
            options.address = lib.mkOption { type = lib.types.str; default = "127.0.0.1"; };
          });
          default = null;
        };
        options.none = lib.mkOption { type = lib.types.nullOr (lib.types.submodule { }); default = null; };
        options.addrs = lib.mkOption {
          type = lib.types.listOf (lib.types.submodule {
            options.address = lib.mkOption { type = lib.types.str; };
            options.prefixLength = lib.mkOption { type = lib.types.ints.between 0 32; default = 24; };
          });
        }; }
      { vnc.display = 1; addrs = [ { address = "10.0.0.2"; } ]; }
      { addrs = [ { address = "10.0.1.2"; prefixLength = 16; } ]; }
    ]`,
    expected: {
      vnc: { display: 1, address: "127.0.0.1" },
      none: null,
      addrs: [
        { address: "10.0.1.2", prefixLength: 16 },
        { address: "10.0.0.2", prefixLength: 24 },
      ],
    },
  },
  {
    name: "listOf concatenates in nixpkgs' order (modules reversed, imports last collected); mkBefore, mkOrder and mkAfter reorder",
    modules: `[
      { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; default = [ ]; }; }
      { imports = [ { l = [ "imported" ]; } ]; l = [ "b" ]; }
      { l = lib.mkAfter [ "z" ]; }
      { l = lib.mkBefore [ "a" ]; }
      { l = [ "c" ]; }
      { l = lib.mkOrder 900 [ "a2" ]; }
    ]`,
    expected: { l: ["a", "a2", "imported", "c", "b", "z"] },
  },
  {
    name: "lines and commas join their definitions, in nixpkgs' order",
    modules: `[
      { options.t = lib.mkOption { type = lib.types.lines; default = ""; };
        options.c = lib.mkOption { type = lib.types.commas; }; }
      { t = "two"; c = "a"; }
      { t = lib.mkBefore "one"; c = "b"; }
      { t = lib.mkAfter "three"; }
      { t = "two and a half"; }
    ]`,
    expected: { t: "one\ntwo and a half\ntwo\nthree", c: "b,a" },
  },
  {
    name: "the types accept their values; equal definitions agree",
    modules: `[
      { options = with lib.types; {
          str = lib.mkOption { type = str; };
          nonEmpty = lib.mkOption { type = nonEmptyStr; };
          matching = lib.mkOption { type = strMatching "[a-z]+[0-9]"; };
          int = lib.mkOption { type = int; };
          positive = lib.mkOption { type = ints.positive; };
          unsigned = lib.mkOption { type = ints.unsigned; };
          u8 = lib.mkOption { type = ints.u8; };
          u16 = lib.mkOption { type = ints.u16; };
          u32 = lib.mkOption { type = ints.u32; };
          s32 = lib.mkOption { type = ints.s32; };
          port = lib.mkOption { type = port; };
          float = lib.mkOption { type = float; };
          number = lib.mkOption { type = listOf number; };
          bool = lib.mkOption { type = bool; };
          path = lib.mkOption { type = path; };
          pkg = lib.mkOption { type = package; apply = p: p.name; };
          enum = lib.mkOption { type = enum [ "a" "b" ]; };
          either = lib.mkOption { type = listOf (either int str); };
          oneOf = lib.mkOption { type = listOf (oneOf [ bool int str ]); };
          attrs = lib.mkOption { type = attrs; };
          anything = lib.mkOption { type = anything; };
          raw = lib.mkOption { type = raw; apply = f: f 2; };
          unspecified = lib.mkOption { };
          uniq = lib.mkOption { type = uniq (listOf int); };
          lazy = lib.mkOption { type = lazyAttrsOf int; };
        }; }
      {
        str = "s"; nonEmpty = " x "; matching = "abc1"; int = -3; positive = 1; unsigned = 0;
        u8 = 255; u16 = 65535; u32 = 4294967295; s32 = -2147483648; port = 22; float = 1.5;
        number = [ 1 2.5 ]; bool = false; path = "/etc/hosts"; enum = "b";
        pkg = derivation { name = "p"; system = "x86_64-linux"; builder = "/bin/sh"; };
        either = [ 1 "x" ]; oneOf = [ true 1 "x" ]; attrs = { a.b = 1; }; anything = { a = 1; };
        raw = x: x * 21; unspecified = [ 1 ]; uniq = [ 1 2 ]; lazy.a = 1;
      }
      { str = "s"; attrs = { c = 2; }; anything = { b.c = [ 1 ]; }; unspecified = [ 2 ]; lazy.b = 2; }
    ]`,
    expected: {
      str: "s",
      nonEmpty: " x ",
      matching: "abc1",
      int: -3,
      positive: 1,
      unsigned: 0,
      u8: 255,
      u16: 65535,
      u32: 4294967295,
      s32: -2147483648,
      port: 22,
      float: 1.5,
      number: [1, 2.5],
      bool: false,
      path: "/etc/hosts",
      pkg: "p",
      enum: "b",
      either: [1, "x"],
      oneOf: [true, 1, "x"],
      attrs: { a: { b: 1 }, c: 2 },
      anything: { a: 1, b: { c: [1] } },
      raw: 42,
      unspecified: [2, 1],
      uniq: [1, 2],
      lazy: { a: 1, b: 2 },
    },
  },
  {
    name: "module arguments: _module.args (lazily, even set from another argument), lib, options",
    modules: `[
      { _module.args.greeting = "hi"; }
      ({ greeting, lib, options, ... }: {
        options.g = lib.mkOption { type = lib.types.str; default = greeting; };
        options.declared = lib.mkOption { type = lib.types.bool; default = options ? g; };
      })
      ({ greeting, ... }: { _module.args.shout = greeting + "!"; })
      ({ shout, ... }: { g = shout; })
    ]`,
    expected: { g: "hi!", declared: true },
  },
  {
    name: "a module with a key counts once, however often it is imported",
    modules: `let m = { key = "the-module"; config.l = [ "once" ]; }; in [
      { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
      { imports = [ m ]; }
      { imports = [ m { imports = [ m ]; } ]; }
    ]`,
    expected: { l: ["once"] },
  },
  {
    name: "declarations of one option in two modules merge (a submodule's options extended)",
    modules: `[
      { options.g = lib.mkOption {
          type = lib.types.attrsOf (lib.types.submodule { options.a = lib.mkOption { type = lib.types.int; default = 1; }; });
          default = { };
        }; }
      { options.g = lib.mkOption {
          type = lib.types.attrsOf (lib.types.submodule ({ name, ... }: { options.b = lib.mkOption { type = lib.types.str; default = name; }; }));
        }; }
      { g.x = { }; g.y.a = 2; }
    ]`,
    expected: { g: { x: { a: 1, b: "x" }, y: { a: 2, b: "y" } } },
  },
  {
    name: "freeformType in a submodule takes its undeclared names",
    modules: `[
      { options.settings = lib.mkOption {
          type = lib.types.submodule {
            freeformType = lib.types.attrsOf lib.types.str;
            options.known = lib.mkOption { type = lib.types.int; default = 1; };
          };
          default = { };
        }; }
      { settings.extra = "x"; settings.other = lib.mkIf false "y"; }
    ]`,
    expected: { settings: { known: 1, extra: "x" } },
  },
  {
    name: "nixos: undeclared systemd.services merge deeply; an override adds serviceConfig.CPUQuota",
    nixos: true,
    modules: `[
      ({ lib, ... }: {
        systemd.services.qemu-guest-alice = {
          description = "QEMU guest alice";
          wantedBy = [ "multi-user.target" ];
          serviceConfig = { Type = "exec"; User = "vm-alice"; };
        };
        systemd.services.never = lib.mkIf false { description = "never"; };
      })
      { systemd.services.qemu-guest-alice.serviceConfig.CPUQuota = "200%"; }
      { systemd.services.qemu-guest-alice = { after = [ "network.target" ]; wantedBy = [ "x.target" ]; }; }
    ]`,
    get: `{
      names = builtins.attrNames config.systemd.services;
      alice = { inherit (config.systemd.services.qemu-guest-alice) description wantedBy after serviceConfig; };
    }`,
    expected: {
      names: ["qemu-guest-alice"],
      alice: {
        description: "QEMU guest alice",
        wantedBy: ["multi-user.target", "x.target"],
        after: ["network.target"],
        serviceConfig: { Type: "exec", User: "vm-alice", CPUQuota: "200%" },
      },
    },
  },
  {
    name: "nixos: priorities, mkIf and list order at any depth of undeclared paths",
    nixos: true,
    modules: `[
      { systemd.services.a.serviceConfig.Restart = "always"; users.users.vm-a.isSystemUser = true;
        systemd.services.a.after = [ "first.target" ]; boot.kernelModules = [ "first" ]; }
      ({ lib, ... }: {
        systemd.services.a.serviceConfig.Restart = lib.mkForce "no";
        systemd.services.a.serviceConfig.RestartSec = lib.mkDefault 5;
        users.users.vm-b = lib.mkIf false { isSystemUser = true; };
      })
      { systemd.services.a.serviceConfig.RestartSec = 10; users.users.vm-a.extraGroups = [ "kvm" ];
        systemd.services.a.after = [ "second.target" ]; boot.kernelModules = [ "second" ]; }
    ]`,
    get: `{
      inherit (config.systemd.services.a.serviceConfig) Restart RestartSec;
      inherit (config.systemd.services.a) after;
      inherit (config.boot) kernelModules;
      users = builtins.attrNames config.users.users;
      a = { inherit (config.users.users.vm-a) isSystemUser extraGroups; };
    }`,
    expected: {
      Restart: "no",
      RestartSec: 10,
      // NixOS' order: module order inside a service (a submodule), reversed at the top.
      after: ["first.target", "second.target"],
      kernelModules: ["second", "first"],
      users: ["vm-a"],
      a: { isSystemUser: true, extraGroups: ["kvm"] },
    },
  },
  {
    name: "nixos: a runtime-shaped module (config = mkIf cfg.enable (mkMerge …)) with host overrides",
    nixos: true,
    modules: `[
      ${VMFLAKE_LIKE}
      { vmflake.enable = true; vmflake.guests.alice = { }; vmflake.guests.bob = { }; }
      ({ lib, ... }: {
        vmflake.guests.alice.autostart = lib.mkForce false;
        systemd.services.qemu-guest-alice.serviceConfig.CPUQuota = "200%";
      })
    ]`,
    get: `{
      services = builtins.mapAttrs (_: s: { inherit (s) wantedBy; inherit (s.serviceConfig) User ExecStart; }) config.systemd.services;
      cpu = config.systemd.services.qemu-guest-alice.serviceConfig.CPUQuota;
      users = builtins.attrNames config.users.users;
      kernelModules = config.boot.kernelModules;
    }`,
    expected: {
      services: {
        "qemu-guest-alice": {
          wantedBy: [],
          User: "vm-alice",
          ExecStart: '"/bin/qemu" "-name" "guest=alice"',
        },
        "qemu-guest-bob": {
          wantedBy: ["multi-user.target"],
          User: "vm-bob",
          ExecStart: '"/bin/qemu" "-name" "guest=bob"',
        },
      },
      cpu: "200%",
      users: ["vm-alice", "vm-bob"],
      kernelModules: ["tun"],
    },
  },
  {
    name: "nixos: the same module disabled defines nothing",
    nixos: true,
    modules: `[ ${VMFLAKE_LIKE} { vmflake.guests.alice = { }; } ]`,
    get: `{ inherit (config.systemd) services; inherit (config.users) users; }`,
    expected: { services: {}, users: {} },
  },
  {
    name: "nixos: utils.escapeSystemdExecArgs quotes spaces, quotes, backslashes and newlines, and doubles $ and %",
    nixos: true,
    modules: `[ ({ lib, utils, ... }: {
      options.out = lib.mkOption { type = lib.types.str; };
      options.one = lib.mkOption { type = lib.types.listOf lib.types.str; };
      config.out = utils.escapeSystemdExecArgs [
        "/bin/x" "two words" "say \\"hi\\"" "it's" "$HOME" "\${"$"}{VAR}" "100%" "%n" "back\\\\slash"
        "new\\nline" "tab\\there" "" 42 (-1) 1.5
      ];
      config.one = map utils.escapeSystemdExecArg [ "a b" "$$" "%%" ];
    }) ]`,
    get: `{ inherit (config) out one; }`,
    expected: {
      out: [
        '"/bin/x"',
        '"two words"',
        '"say \\"hi\\""',
        `"it's"`,
        '"$$HOME"',
        '"$${VAR}"',
        '"100%%"',
        '"%%n"',
        '"back\\\\slash"',
        '"new\\nline"',
        '"tab\\there"',
        '""',
        '"42"',
        '"-1"',
        '"1.500000"',
      ].join(" "),
      one: ['"a b"', '"$$$$"', '"%%%%"'],
    },
  },
];

const errorCases: readonly ErrorCase[] = [
  {
    name: "a definition of the wrong type names the option's path",
    modules: `[
      { options.guests = lib.mkOption { type = ${GUESTS_SUBMODULE}; default = { }; }; }
      { guests.alice = { tap = "tap0"; cpus = "two"; }; }
    ]`,
    get: `config.guests.alice.cpus`,
    standIn: [
      /The option `guests\.alice\.cpus' has a wrong type: "two" is not a integer between 1 and 255 \(both inclusive\)/,
    ],
    both: [/guests\.alice\.cpus/],
  },
  {
    name: "a list element of the wrong type names the option's path",
    modules: `[
      { options.l = lib.mkOption { type = lib.types.listOf lib.types.str; }; }
      { l = [ "a" 1 ]; }
    ]`,
    get: `config.l`,
    standIn: [/The option `l\."\[definition 1-entry 2\]"' has a wrong type: 1 is not a string/],
    both: [/`l\."\[definition 1-entry 2\]"'/],
  },
  {
    name: "conflicting definitions of a single-valued option name its path",
    modules: `[
      { options.guests = lib.mkOption { type = ${GUESTS_SUBMODULE}; default = { }; }; }
      { guests.alice.tap = "tap0"; }
      { guests.alice.tap = "tap1"; }
    ]`,
    get: `config.guests.alice.tap`,
    standIn: [],
    both: [/The option `guests\.alice\.tap' has conflicting definition values/],
  },
  {
    name: "definitions of undeclared options are errors in lib.evalModules",
    modules: `[
      { options.guests = lib.mkOption { type = ${GUESTS_SUBMODULE}; default = { }; }; }
      { guests.alice = { tap = "tap0"; autostrat = false; }; }
    ]`,
    get: `config.guests.alice.tap`,
    standIn: [],
    both: [/The option `guests\.alice\.autostrat' does not exist/],
  },
  {
    name: "conflicting values at an undeclared NixOS path name it",
    nixos: true,
    modules: `[ { boot.loader.timeout = 1; } { boot.loader.timeout = 2; } ]`,
    get: `config.boot.loader.timeout`,
    standIn: [/The option `boot\.loader\.timeout' has conflicting definition values/],
    both: [],
  },
  {
    name: "mkIf with a non-Boolean condition",
    modules: `[
      { options.a = lib.mkOption { type = lib.types.int; default = 1; }; }
      { config = lib.mkIf "yes" { a = 2; }; }
    ]`,
    get: `config.a`,
    standIn: [/The option `a': mkIf called with a non-Boolean condition: "yes"/],
    both: [/non-Boolean condition/],
  },
];

const standInLib = `(import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { }).lib`;

function standInExpr(c: { modules: string; get?: string; nixos?: boolean }): string {
  const evaluate = c.nixos ? "lib.nixosSystem" : "lib.evalModules";
  return `let
    lib = ${standInLib};
    modules = ${c.modules};
    config = (${evaluate} { inherit modules; }).config;
  in ${c.get ?? "config"}`;
}

function realExpr(nixpkgs: string, c: { modules: string; get?: string; nixos?: boolean }): string {
  const extra = c.nixos
    ? `[ ${REAL_NIXOS_DECLS} { _module.args.utils = import (/. + ${nixPath(`${nixpkgs}/nixos/lib/utils.nix`)}) { inherit lib; config = { }; pkgs = { }; }; } ] ++ `
    : "";
  return `let
    lib = import (/. + ${nixPath(`${nixpkgs}/lib`)});
    modules = ${extra}${c.modules};
    config = (lib.evalModules { inherit modules; }).config;
  in ${c.get ?? "config"}`;
}

function evalError(expr: string): string {
  try {
    const v = evalJson(expr);
    return `no error; the value was ${JSON.stringify(v)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

describeWith(["nix-instantiate"], "stand-in module system", () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(evalJson(standInExpr(c))).toEqual(c.expected);
    });
  }
  for (const c of errorCases) {
    it(`error: ${c.name}`, () => {
      const message = evalError(standInExpr(c));
      for (const re of [...c.standIn, ...c.both]) expect(message).toMatch(re);
    });
  }

  it("system.build.toplevel: configJSON without _module and without what mkIf removed; failed assertions fail it", () => {
    const system = (modules: string): string => `(lib.nixosSystem { modules = ${modules}; })`;
    const json = evalJson<Record<string, unknown>>(`let lib = ${standInLib}; in
      builtins.fromJSON ${system(`[
        ({ lib, ... }: { networking.hostName = "h"; systemd.services.a = lib.mkIf false { }; _module.args.x = 1; })
      ]`)}.config.system.build.toplevel.configJSON`);
    expect(json).toEqual({ networking: { hostName: "h" }, systemd: { services: {} } });
    const message = evalError(`let lib = ${standInLib}; in
      ${system(`[ { assertions = [ { assertion = false; message = "the guest's disk is not a multiple of 512"; } ]; } ]`)}
      .config.system.build.toplevel.drvPath`);
    expect(message).toMatch(/Failed assertions:\s+- the guest's disk is not a multiple of 512/);
  });

  it("lib: the small functions the runtime module uses", () => {
    expect(
      evalJson(`let lib = ${standInLib}; in {
        mapAttrs' = lib.mapAttrs' (n: v: lib.nameValuePair "x-\${n}" (v + 1)) { a = 1; };
        mapAttrsToList = lib.mapAttrsToList (n: v: "\${n}=\${toString v}") { a = 1; b = 2; };
        filterAttrs = lib.filterAttrs (n: v: v > 1) { a = 1; b = 2; };
        genAttrs = lib.genAttrs [ "a" "b" ] (n: n + n);
        optionals = lib.optionals true [ 1 ] ++ lib.optional false 2 ++ lib.optional true 3;
        optionalAttrs = lib.optionalAttrs false { a = 1; } // lib.optionalAttrs true { b = 2; };
        attrByPath = [ (lib.attrByPath [ "a" "b" ] 0 { a.b = 1; }) (lib.attrByPath [ "a" "c" ] 0 { a.b = 1; }) ];
        setAttrByPath = lib.setAttrByPath [ "a" "b" ] 1;
        recursiveUpdate = lib.recursiveUpdate { a.b = 1; a.c = 2; d = 1; } { a.b = 3; d = { e = 1; }; };
        unique = lib.unique [ 1 2 1 3 2 ];
        flatten = lib.flatten [ 1 [ 2 [ 3 ] ] ];
        last = lib.last [ 1 2 3 ];
        toList = [ (lib.toList 1) (lib.toList [ 2 ]) ];
        strings = [ (lib.removePrefix "/var/lib/" "/var/lib/x") (lib.removeSuffix ".nix" "a.nix")
          (lib.toUpper "abC") (lib.toLower "AbC") (lib.optionalString false "x") (lib.concatStringsSep "," [ "a" "b" ]) ];
        prefix = [ (lib.hasPrefix "ab" "abc") (lib.hasSuffix "bc" "abc") (lib.hasSuffix "abcd" "bc") ];
        splitString = lib.splitString "." "a.b..c";
        escapeShellArgs = lib.escapeShellArgs [ "a" "b c" "it's" "" ];
        versions = [ (lib.versionAtLeast "26.05" "25.11") (lib.versionAtLeast "25.05" "25.11") ];
        fix = (lib.fix (self: { a = 1; b = self.a + 1; })).b;
        trivial = [ (lib.id 1) (lib.const 2 3) (lib.trivial.id 4) (lib.strings.hasPrefix "a" "a") ];
        getExe = lib.getExe { outPath = "/nix/store/x-p"; name = "p"; meta.mainProgram = "q"; };
        mkIfs = lib.concatMap (x: [ x._type ]) [ (lib.mkIf true 1) (lib.mkMerge [ ]) (lib.mkForce 1) (lib.mkBefore 1) ];
        forcePriority = (lib.mkForce 1).priority;
        defaultPriority = (lib.mkDefault 1).priority;
      }`),
    ).toEqual({
      "mapAttrs'": { "x-a": 2 },
      mapAttrsToList: ["a=1", "b=2"],
      filterAttrs: { b: 2 },
      genAttrs: { a: "aa", b: "bb" },
      optionals: [1, 3],
      optionalAttrs: { b: 2 },
      attrByPath: [1, 0],
      setAttrByPath: { a: { b: 1 } },
      recursiveUpdate: { a: { b: 3, c: 2 }, d: { e: 1 } },
      unique: [1, 2, 3],
      flatten: [1, 2, 3],
      last: 3,
      toList: [[1], [2]],
      strings: ["x", "a", "ABC", "abc", "", "a,b"],
      prefix: [true, true, false],
      splitString: ["a", "b", "", "c"],
      escapeShellArgs: `a 'b c' 'it'\\''s' ''`,
      versions: [true, false],
      fix: 2,
      trivial: [1, 2, 4, true],
      getExe: "/nix/store/x-p/bin/q",
      mkIfs: ["if", "merge", "override", "order"],
      forcePriority: 50,
      defaultPriority: 1000,
    });
  });
});

// The same modules through nixpkgs' own module system.
if (NIXPKGS === undefined) {
  console.warn(
    "SKIPPED (real nixpkgs tier): stand-in module system vs lib.evalModules: set NIXPKGS=/path/to/nixpkgs to run it",
  );
}
describe.skipIf(NIXPKGS === undefined)(
  NIXPKGS === undefined
    ? "stand-in module system vs nixpkgs' lib.evalModules [skipped: set NIXPKGS=/path/to/nixpkgs]"
    : "stand-in module system vs nixpkgs' lib.evalModules",
  () => {
    const nixpkgs = NIXPKGS ?? "";
    for (const c of cases) {
      it(c.name, () => {
        expect(evalJson(realExpr(nixpkgs, c))).toEqual(c.expected);
      });
    }
    for (const c of errorCases.filter((c) => c.both.length > 0)) {
      it(`error: ${c.name}`, () => {
        const message = evalError(realExpr(nixpkgs, c));
        for (const re of c.both) expect(message).toMatch(re);
      });
    }
    it("utils.escapeSystemdExecArgs agrees with nixos/lib/utils.nix, a path included", () => {
      const file = `(/. + ${nixPath(`${STAND_IN_NIXPKGS}/default.nix`)})`;
      const args = `[ "a b" "q\\"q" "$x" "%i" "b\\\\s" "n\\nl" 7 0.25 ${file} ]`;
      const real = evalJson(`(import (/. + ${nixPath(`${nixpkgs}/nixos/lib/utils.nix`)}) {
        lib = import (/. + ${nixPath(`${nixpkgs}/lib`)}); config = { }; pkgs = { };
      }).escapeSystemdExecArgs ${args}`);
      const standIn = evalJson(`let
        system = (${standInLib}).nixosSystem { modules = [ ({ utils, ... }: { out = utils.escapeSystemdExecArgs ${args}; }) ]; };
      in system.config.out`);
      expect(standIn).toEqual(real);
    });
  },
);
