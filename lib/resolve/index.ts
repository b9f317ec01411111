/**
 * Validate `hosts.ts` and resolve it into the model: every problem is collected (with its path
 * and a hint), then thrown at once as a {@link SpecError}; nothing is half-resolved.
 *
 * One file per part of the description: host.ts, lan.ts, ipv4.ts, guest.ts (with config.ts, the
 * guest's own NixOS settings), state-version.ts; values.ts holds the checks hosts and guests
 * share, unique.ts what must not clash across guests and hosts, deploy-names.ts the names the
 * deploy targets reserve.
 */
import { fieldList, isPlainObject, object, string } from "../fields.ts";
import { DEFAULT_NIXPKGS, type ResolvedHost, type ResolvedSpec } from "../model.ts";
import { Problems, SpecError, joinPath, show } from "../problems.ts";
import type { HostsSpec } from "../spec.ts";
import { checkDeployNames } from "./deploy-names.ts";
import type { OptionNames } from "../nixos-config.ts";
import { resolveHost } from "./host.ts";
import { optionPathProblems } from "./option-paths.ts";
import { checkDeviceClaims } from "./passthrough.ts";
import { type Identities, checkUnique } from "./unique.ts";

/** The fields of the description itself. */
export const TOP_FIELDS = fieldList<HostsSpec>()(["nixpkgs", "hosts"]);

/** Flake URLs: the characters flake references use, nothing that could leave a string or word. */
const FLAKE_URL =
  /^(github|gitlab|sourcehut|path|git\+https|git\+ssh|git\+file|https|tarball\+https|file|flake):[A-Za-z0-9._~:/?#@+=%,&-]+$/;

/** What validation knows beyond the description itself. */
export interface ResolveOptions {
  /** The NixOS option names of the nixpkgs in use: guests' `config` is checked against them. */
  readonly nixosOptions?: OptionNames;
}

/**
 * Check `input` (the default export of `hosts.ts`) and resolve every default.
 * @throws SpecError with every problem found.
 */
export function resolveSpec(input: unknown, options: ResolveOptions = {}): ResolvedSpec {
  const p = new Problems();
  const top = object(p, input, "", TOP_FIELDS);
  if (top === undefined) throw new SpecError(p.list);

  let nixpkgs = DEFAULT_NIXPKGS;
  if (top.nixpkgs !== undefined) {
    const url = string(p, top.nixpkgs, "nixpkgs");
    if (url !== undefined && !FLAKE_URL.test(url)) {
      p.add(
        "nixpkgs",
        `${show(url)} is not a flake URL such as "github:NixOS/nixpkgs/nixos-26.05"`,
      );
    } else if (url !== undefined) nixpkgs = url;
  }

  const hosts: ResolvedHost[] = [];
  const ids: Identities = { hosts: [], guests: [], devices: [], nics: [] };
  const hostsObj =
    top.hosts === undefined ? undefined : isPlainObject(top.hosts) ? top.hosts : undefined;
  if (top.hosts === undefined) p.add("hosts", "is missing; describe at least one host");
  else if (hostsObj === undefined) p.add("hosts", "must be an object of hosts by name");
  else if (Object.keys(hostsObj).length === 0)
    p.add("hosts", "is empty; describe at least one host");
  for (const [name, value] of Object.entries(hostsObj ?? {})) {
    const host = resolveHost(p, name, value, ids);
    if (host !== undefined) hosts.push(host);
  }
  checkUnique(p, ids, hostsObj ?? {});
  checkDeployNames(p, ids);
  if (options.nixosOptions !== undefined) {
    for (const [at, config] of guestConfigs(hostsObj ?? {})) {
      optionPathProblems(p, config, at, options.nixosOptions);
    }
  }
  checkDeviceClaims(p, ids.devices);
  if (p.list.length > 0) throw new SpecError(p.list);
  return { nixpkgs, hosts };
}

/** Every guest's `config` in the description as written, with its path (invalid guests too). */
function guestConfigs(hosts: { readonly [name: string]: unknown }): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [h, host] of Object.entries(hosts)) {
    const guests = isPlainObject(host) ? host.guests : undefined;
    if (!isPlainObject(guests)) continue;
    for (const [g, guest] of Object.entries(guests)) {
      if (isPlainObject(guest) && guest.config !== undefined) {
        out.push([`${joinPath(joinPath(joinPath("hosts", h), "guests"), g)}.config`, guest.config]);
      }
    }
  }
  return out;
}
