/**
 * Type-level tests: each `@ts-expect-error` marks a mistake the editor must flag. `npm run
 * typecheck` fails if any of them stops being an error; types.test.ts also checks that each one
 * fails for the reason given in brackets (a fragment of the compiler's message).
 */
import { defineHosts } from "../../lib/index.ts";

const lan = { nic: "eth0", bridge: "br0" } as const;

export const ok = defineHosts({
  nixpkgs: "github:NixOS/nixpkgs/nixos-26.05",
  hosts: {
    study: {
      system: "x86_64-linux",
      lan: { ...lan, address: { addresses: ["10.0.0.2/24"], gateway: "10.0.0.1" } },
      sshKeys: [],
      stateDir: "/var/lib/vms",
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "40G", cpus: 2, vnc: 1, tap: "tap0", autostart: false },
        bob: { memory: "512M", disk: "1T", config: { services: { nginx: { enable: true } } } },
        carol: { memory: "1G", disk: "4G", stateVersion: "25.11" },
      },
    },
  },
});

/**
 * Compiles: a guest may take its state version from its host, so the types cannot require one;
 * validation reports a guest that has neither.
 */
export const withoutStateVersion = defineHosts({
  hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4G" } } } },
});

const sized = { memory: "1G", disk: "4G" } as const;

// A typo in a field name. [memroy]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memroy: "1G", disk: "4G" } } } } });

// A size without a unit. ["1024"]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1024", disk: "4G" } } } } });

// A size with a unit we do not take. ["4GB"]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4GB" } } } } });

// A size as a number. [Type 'number' is not assignable to type '`${number}G`]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: 1024, disk: "4G" } } } } });

// The disk is required. [disk]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G" } } } } });

// VNC is a display number, not a port string. [not assignable to type 'number']
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4G", vnc: ":1" } } } } });

// cpus is a number. [not assignable to type 'number']
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4G", cpus: "2" } } } } });

// autostart is a boolean. [not assignable to type 'boolean']
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { memory: "1G", disk: "4G", autostart: 1 } } } } });

// The LAN needs its bridge. [bridge]
// @ts-expect-error
defineHosts({ hosts: { h: { lan: { nic: "eth0" }, guests: {} } } });

// A host needs its LAN. [lan]
// @ts-expect-error
defineHosts({ hosts: { h: { guests: {} } } });

// ssh keys are a list. [string[]]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, sshKeys: "ssh-ed25519 AAAA", guests: {} } } });

// Unknown systems are refused. [x86_64-darwin]
// @ts-expect-error
defineHosts({ hosts: { h: { system: "x86_64-darwin", lan, guests: {} } } });

// The host address is "dhcp" or a static configuration. ["static"]
// @ts-expect-error
defineHosts({ hosts: { h: { lan: { ...lan, address: "static" }, guests: {} } } });

const noGateway = { addresses: ["10.0.0.2/24"] };
// A static configuration needs its gateway. [gateway]
// @ts-expect-error
defineHosts({ hosts: { h: { lan: { ...lan, address: noGateway }, guests: {} } } });

// A state version that is not a release name. ["26.04"]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, stateVersion: "26.04", guests: {} } } });

// A guest's state version as a number. [Type 'number' is not assignable to type '`${number}.05`]
// @ts-expect-error
defineHosts({ hosts: { h: { lan, guests: { a: { ...sized, stateVersion: 26.05 } } } } });

// A typo at the top level. [host]
// @ts-expect-error
defineHosts({ host: {} });
