/**
 * `modules/installer/<host>.nix`: the values of a host's installer ISO
 * (`packages.<system>.installer-<host>`). The runtime's generic installer module
 * (`modules/vmflake/installer.nix`) does the rest. The ISO is the same for every guest of the
 * host, so evaluating the host costs the same with 1 or 20 guests; only guests that ask for an
 * offline install put their system closure into it (the flake hands it `nixosConfigurations` as
 * the module argument `guestSystems` then).
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding, NixFile } from "../../dsl/index.ts";
import type { ResolvedHost } from "../model.ts";
import { generatedHeader } from "./header.ts";

/** The module argument through which the flake hands the installer the guests' systems. */
export const GUEST_SYSTEMS_ARG = "guestSystems";

/** `installer-<host>`: the package name of the host's installer ISO. */
export function installerPackageName(host: string): string {
  return `installer-${host}`;
}

/** The ISO's base name (`image.baseName`, set by the runtime); the file is `iso/<it>.iso`. */
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
  const body: NixBinding[] = [
    n.bind("imports", [n.path("../vmflake/installer.nix")]),
    n.bind(["nixpkgs", "hostPlatform"], host.system),
    n.bind(["vmflake", "installer", "hostName"], host.name),
  ];
  if (offline.length > 0) {
    const systems = n.v(GUEST_SYSTEMS_ARG);
    body.push(
      n.bind(
        ["vmflake", "installer", "offlineSystems"],
        n.attrs(
          offline.map((guest) =>
            n.bind(guest, n.select(systems, guest, "config", "system", "build", "toplevel")),
          ),
        ),
        {
          comment: [
            "Offline installs: these guests' systems are in the ISO's store, so evaluating the",
            "host evaluates them too.",
          ],
        },
      ),
    );
    return {
      comment: generatedHeader(source, `installer of host ${host.name}`),
      body: n.module([GUEST_SYSTEMS_ARG], n.attrs(body)),
    };
  }
  return {
    comment: generatedHeader(source, `installer of host ${host.name}`),
    body: n.attrs(body),
  };
}
