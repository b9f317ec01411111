/**
 * `modules/installer/<host>.nix`: the NixOS system of a host's installer ISO
 * (`packages.<system>.installer-<host>`): nixpkgs' minimal installation CD plus the install
 * service. It is generic: the same ISO installs any of the host's guests, so evaluating the host
 * costs the same with 1 or 20 guests. Only guests that ask for an offline install put their
 * system closure into it (the flake passes `nixosConfigurations` as `guestSystems` then).
 * `reference/qemu-on-nixos.md` §7 gives the reasons for each setting.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding, NixFile } from "../../dsl/index.ts";
import type { ResolvedHost } from "../model.ts";
import { OFFLINE_SYSTEMS_DIR, installToken } from "../runtime/install-protocol.ts";
import { installerScript, installerScriptInputs } from "../runtime/installer-script.ts";
import { generatedHeader } from "./header.ts";

const { lib, pkgs, config } = n;

/** The module argument through which the flake hands the installer the guests' systems. */
export const GUEST_SYSTEMS_ARG = "guestSystems";

/** `installer-<host>`: the package name of the host's installer ISO. */
export function installerPackageName(host: string): string {
  return `installer-${host}`;
}

/** The ISO's base name (`image.baseName`); the file is `iso/<base name>.iso` in the package. */
export function installerBaseName(host: string): string {
  return `vmflake-installer-${host}`;
}

/** The ISO file inside the package, relative to its root. */
export function installerIsoFile(host: string): string {
  return `iso/${installerBaseName(host)}.iso`;
}

/** Guests of `host` whose system the ISO carries. */
export function offlineGuests(host: ResolvedHost): string[] {
  return host.guests.filter((g) => g.install.offline).map((g) => g.name);
}

export function installerModuleFile(host: ResolvedHost, source: string): NixFile {
  const offline = offlineGuests(host);
  const modulesPath = n.ref("modulesPath");
  const install = pkgs.writeShellApplication({
    name: "vmflake-install",
    runtimeInputs: [
      ...installerScriptInputs.map((i) => n.select(pkgs, i)),
      config.nix.package,
      config.system.build["nixos-install"]!,
    ],
    text: installerScript,
  });
  const body: NixBinding[] = [
    n.bind("imports", [n.op(modulesPath, "+", "/installer/cd-dvd/installation-cd-minimal.nix")]),
    n.bind(["nixpkgs", "hostPlatform"], host.system),
    n.bind(["image", "baseName"], lib.mkForce(installerBaseName(host.name)), {
      comment: `The ISO is ${installerIsoFile(host.name)} in the package; the host module boots it.`,
    }),
    n.bind(["system", "installer", "channel", "enable"], false, {
      comment: [
        "Guests come from the flake on the seed drive or from the closures below, with",
        "--no-channel-copy, so no channel; without it the ISO also evaluates several times faster.",
      ],
    }),
    n.bind(["isoImage", "squashfsCompression"], "zstd -Xcompression-level 6", {
      comment: "Rebuilt whenever nixpkgs changes: build fast rather than small.",
    }),
    n.bind(["boot", "loader", "timeout"], lib.mkForce(1), {
      comment: "Nobody picks a boot menu entry: start at once.",
    }),
    n.bind(["boot", "kernelParams"], ["console=tty0", "console=ttyS0,115200n8"], {
      comment: "The serial console is the host's install log (and /dev/console).",
    }),
    n.bind(["systemd", "services", "vmflake-install"], {
      description: `vmflake: unattended install of a guest of ${host.name} (only with its seed drive)`,
      wantedBy: ["multi-user.target"],
      unitConfig: { ConditionVirtualization: "vm" },
      environment: { HOME: "/root" },
      serviceConfig: {
        Type: "oneshot",
        ExecStart: n.nix`${lib.getExe(n.v("install"))} --host ${host.name} --token ${installToken(host.name)}`,
        StandardOutput: "journal+console",
        StandardError: "journal+console",
      },
    }),
  ];
  if (offline.length > 0) {
    const toplevel = (guest: string) =>
      n.select(n.v(GUEST_SYSTEMS_ARG), guest, "config", "system", "build", "toplevel");
    body.push(
      n.bind(["isoImage", "storeContents"], offline.map(toplevel), {
        comment: [
          "Offline installs: these guests' systems are in the ISO's store, so evaluating the host",
          "evaluates them too.",
        ],
      }),
      ...offline.map((guest) =>
        n.bind(
          [
            "environment",
            "etc",
            `${OFFLINE_SYSTEMS_DIR.replace(/^\/etc\//, "")}/${guest}`,
            "source",
          ],
          toplevel(guest),
        ),
      ),
    );
  }
  const formals = [
    "config",
    "lib",
    "pkgs",
    "modulesPath",
    ...(offline.length > 0 ? [GUEST_SYSTEMS_ARG] : []),
  ];
  return {
    comment: generatedHeader(source, `installer of host ${host.name}`),
    body: n.module(
      formals,
      n.let_(
        [
          n.bind("install", install, {
            comment: [
              "Checks the seed drive and the target disk, partitions, formats and installs the",
              "guest's system, reports on the serial console and powers off.",
            ],
          }),
        ],
        n.attrs(body),
      ),
    ),
  };
}
