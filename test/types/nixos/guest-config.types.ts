/**
 * Type-level tests of a guest's `config` typed by generated NixOS option types: types.test.ts
 * compiles this file together with the declarations generated from
 * test/fixtures/nixos-option-types.json (the repository's own type check leaves it out: without
 * them `config` takes any attribute set). Each `@ts-expect-error` marks a mistake the editor must
 * flag, for the reason in brackets (a fragment of the compiler's message).
 */
import * as n from "../../../dsl/index.ts";
import { type GuestSpec, defineHosts, mkForce, mkIf } from "../../../lib/index.ts";

const lan = { nic: "eth0", bridge: "br0" } as const;
const guest = (config: NonNullable<GuestSpec["config"]>) =>
  defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4G", config } } } } });

/** Compiles: real-looking settings of real NixOS modules and of the nginx-like fixture. */
export const ok = defineHosts({
  hosts: {
    h: {
      lan,
      stateVersion: "26.05",
      guests: {
        web: {
          memory: "1G",
          disk: "8G",
          config: {
            services: {
              openssh: {
                enable: true,
                ports: [22, 2222],
                settings: { PermitRootLogin: "prohibit-password", PasswordAuthentication: false },
              },
              nginx: {
                enable: true,
                package: n.pkgs.nginxMainline,
                recommendedProxySettings: true,
                virtualHosts: {
                  "example.org": {
                    forceSSL: true,
                    enableACME: true,
                    serverAliases: ["www.example.org"],
                    listen: [{ addr: "0.0.0.0", port: 443, ssl: true }],
                    locations: {
                      "/": { proxyPass: "http://127.0.0.1:8080" },
                      "/static": { root: "/srv/static", extraConfig: "expires 1d;" },
                      "/gone": { return: 410 },
                    },
                  },
                },
              },
            },
            users: {
              users: {
                dan: {
                  isNormalUser: true,
                  extraGroups: ["wheel"],
                  openssh: { authorizedKeys: { keys: ["ssh-ed25519 AAAA… dan@carbon"] } },
                  shell: n.pkgs.fish,
                  uid: 1000,
                },
              },
            },
            networking: {
              firewall: { enable: true, allowedTCPPorts: [80, 443], allowedUDPPorts: [] },
            },
            systemd: {
              services: {
                backup: {
                  description: "Nightly backup",
                  wantedBy: ["multi-user.target"],
                  after: ["network-online.target"],
                  path: [n.pkgs.rsync],
                  script: "rsync -a /srv /backup",
                  startAt: "daily",
                  serviceConfig: { Type: "oneshot", Nice: 19 },
                  environment: { TZ: "UTC" },
                },
              },
            },
          },
        },
      },
    },
  },
});

/** Compiles: computed values anywhere a value goes, typed helpers around attribute sets. */
export const computed = guest({
  services: {
    openssh: mkIf(n.config.services.nginx.enable, { enable: true, ports: n.lib.mkForce([22]) }),
    nginx: { enable: n.lib.mkDefault(true), clientMaxBodySize: n.nix`${"64"}m` },
  },
  networking: { firewall: mkForce({ allowedTCPPorts: [n.int(8080)] }) },
  // A set of named entries may be computed as a whole.
  users: { users: n.lib.genAttrs(["a", "b"], n.lambda("name", { isNormalUser: true })) },
});

/** Compiles: a value of every type constructor. */
export const everyConstructor = guest({
  fixture: {
    bool: true,
    boolByOr: false,
    int: -3,
    between: 5,
    positive: 1n,
    unsigned: 0,
    u8: 255,
    port: 8080,
    float: 0.5,
    number: 2,
    numberBetween: 0.25,
    str: "text",
    nonEmptyStr: "x",
    singleLineStr: "one line",
    strMatching: "abc",
    lines: "a\nb",
    commas: "a,b",
    separated: "a;b",
    passwdEntry: "no colons",
    path: "/etc/hosts",
    pathInStore: n.pkgs.hello,
    package: n.pkgs.hello,
    enum: "two",
    enumMixed: true,
    nullOr: null,
    either: 1,
    oneOf: ["a", "b"],
    coercedTo: 3,
    listOf: [1, 2],
    nonEmptyListOf: ["a"],
    attrsOf: { a: 1 },
    lazyAttrsOf: { a: true },
    attrsWith: { dan: "x" },
    uniq: "once",
    unique: 1,
    attrs: { any: ["thing"] },
    anything: { nested: [1, "two"] },
    raw: 1,
    unspecified: "x",
    functionTo: n.lambda({ formals: ["x"] }, n.v("x")),
    deferredModule: { imports: [] },
    json: { a: [1, { b: null }] },
    submodule: { name: "x", nested: { depth: 2 } },
    freeform: { known: true, anyOther: "value" },
    named: { first: { label: "First" } },
  },
});

// A misspelt option, with the closest one. [but 'enabel' does not exist in type 'ServicesOpenssh'. Did you mean to write 'enable'?]
// @ts-expect-error
guest({ services: { openssh: { enabel: true } } });

// A misspelt option set. [Did you mean to write 'openssh'?]
// @ts-expect-error
guest({ services: { opensh: { enable: true } } });

// A wrong value type: a string for a list of ports. [Type 'string' is not assignable to type 'readonly (number | bigint | Computed)[] | Computed]
// @ts-expect-error
guest({ networking: { firewall: { allowedTCPPorts: "22" } } });

// A wrong value type: a string for a boolean. [Type 'string' is not assignable to type 'boolean | Computed]
// @ts-expect-error
guest({ services: { nginx: { enable: "yes" } } });

// A wrong enum value. [Type '"maybe"' is not assignable]
// @ts-expect-error
guest({ services: { openssh: { settings: { PermitRootLogin: "maybe" } } } });

// A wrong enum value in the fixture. [Type '"four"' is not assignable]
// @ts-expect-error
guest({ fixture: { enum: "four" } });

// A typo in a field of a named submodule entry. [Did you mean to write 'isNormalUser'?]
// @ts-expect-error
guest({ users: { users: { dan: { isNormalUsr: true } } } });

// A typo two submodules deep (virtual host, location). [Did you mean to write 'proxyPass'?]
// @ts-expect-error
guest({ services: { nginx: { virtualHosts: { x: { locations: { "/": { proxyPas: "" } } } } } } });

// A typo inside a typed helper. [has no properties in common with type 'ServicesOpenssh']
// @ts-expect-error
guest({ services: { openssh: mkIf(true, { enabl: true }) } });

// A renamed option names the new one. [Renamed<"fixture.str">]
// @ts-expect-error
guest({ fixture: { oldName: "x" } });

// A removed option. [Removed]
// @ts-expect-error
guest({ fixture: { gone: true } });

// Read-only options are left out. [does not exist in type 'Fixture']
// @ts-expect-error
guest({ fixture: { readOnly: "x" } });

// Internal options are left out. [does not exist in type 'Fixture']
// @ts-expect-error
guest({ fixture: { internal: "x" } });

// A package is a reference, not a string. [Type 'string' is not assignable to type 'Computed | undefined']
// @ts-expect-error
guest({ fixture: { package: "hello" } });

// An option of no known namespace. [does not exist in type 'Options']
// @ts-expect-error
guest({ servics: { openssh: { enable: true } } });
