/** One host: its own fields, then each of its guests with what they take from it. */
import { boolean, fieldList, isPlainObject, object, string } from "../fields.ts";
import {
  DEFAULT_STATE_DIR,
  DEFAULT_SYSTEM,
  type ResolvedGuest,
  type ResolvedHost,
  type ResolvedNic,
} from "../model.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import type { HostSpec } from "../spec.ts";
import { type GuestContext, resolveGuest } from "./guest.ts";
import { resolveLan } from "./lan.ts";
import { resolveIommu } from "./passthrough.ts";
import { type DeclaredLease, assignLeases, checkLeases, resolveNetworks } from "./networks.ts";
import { stateVersion } from "./state-version.ts";
import type { Identities } from "./unique.ts";
import { hostnameProblem, sshKeys } from "./values.ts";

/** The fields of a host. */
export const HOST_FIELDS = fieldList<HostSpec>()([
  "system",
  "lan",
  "networks",
  "sshKeys",
  "stateDir",
  "offlineInstall",
  "stateVersion",
  "iommu",
  "guests",
]);

const SYSTEMS = ["x86_64-linux", "aarch64-linux"];

const STATE_DIR = /^\/var\/lib(\/[A-Za-z0-9._-]+)+$/;

/**
 * The host `name` with its guests, or undefined after reporting its problems (a host with any
 * problem, its guests' included, is not resolved). Records its LAN and its guests' identities in
 * `ids` whatever else is wrong, for the uniqueness checks.
 */
export function resolveHost(
  p: Problems,
  name: string,
  value: unknown,
  ids: Identities,
): ResolvedHost | undefined {
  const path = joinPath("hosts", name);
  const before = p.list.length;
  const bad = hostnameProblem(name, "host");
  if (bad) p.add(path, bad);
  const h = object(p, value, path, HOST_FIELDS);
  if (h === undefined) return undefined;

  let system = DEFAULT_SYSTEM;
  if (h.system !== undefined) {
    const s = string(p, h.system, `${path}.system`);
    if (s !== undefined && !SYSTEMS.includes(s))
      p.add(`${path}.system`, `${show(s)} is not one of ${SYSTEMS.join(", ")}`);
    else if (s !== undefined) system = s;
  }

  const lan = resolveLan(p, h.lan, `${path}.lan`);
  const networks = resolveNetworks(p, h.networks, `${path}.networks`, lan);
  const hostKeys = sshKeys(p, h.sshKeys, `${path}.sshKeys`);

  let stateDir = DEFAULT_STATE_DIR;
  if (h.stateDir !== undefined) {
    const s = string(p, h.stateDir, `${path}.stateDir`);
    if (
      s !== undefined &&
      (!STATE_DIR.test(s) || s.split("/").some((seg) => seg === "." || seg === ".."))
    ) {
      p.add(
        `${path}.stateDir`,
        `${show(s)} must be an absolute path under /var/lib (systemd creates it as StateDirectory=), made of letters, digits, ".", "_" and "-"`,
      );
    } else if (s !== undefined) stateDir = s;
  }

  const offlineInstall =
    h.offlineInstall === undefined
      ? false
      : (boolean(p, h.offlineInstall, `${path}.offlineInstall`) ?? false);

  const hostStateVersion =
    h.stateVersion === undefined
      ? undefined
      : stateVersion(p, h.stateVersion, `${path}.stateVersion`);

  const iommu = resolveIommu(p, h.iommu, `${path}.iommu`);

  let guests: ResolvedGuest[] = [];
  const nicPaths = new Map<ResolvedNic, string>();
  const leases: DeclaredLease[] = [];
  const guestsPath = `${path}.guests`;
  if (h.guests === undefined)
    p.add(guestsPath, "is missing; describe the host's guests (it may be {})");
  else if (!isPlainObject(h.guests)) p.add(guestsPath, "must be an object of guests by name");
  else {
    const ctx: GuestContext = {
      problems: p,
      host: name,
      hostPath: path,
      stateDir,
      sshKeys: hostKeys,
      offlineInstall,
      stateVersion: hostStateVersion,
      stateVersionGiven: h.stateVersion !== undefined,
      ids,
      networks: networks.known,
      networkNames: isPlainObject(h.networks) ? Object.keys(h.networks) : [],
      nicPaths,
      leases,
    };
    for (const [guestName, g] of Object.entries(h.guests)) {
      const guest = resolveGuest(ctx, guestName, g);
      if (guest !== undefined) guests.push(guest);
    }
  }
  checkLeases(p, leases);
  if (lan !== undefined) {
    // Every valid bridge, so that a tap that is one is reported whatever else is wrong.
    const bridges = networks.known.flatMap((n) => (n.bridge === undefined ? [] : [n.bridge]));
    ids.hosts.push({ name, lan, bridges });
  }
  const resolved = networks.resolved;
  if (p.list.length > before || lan === undefined || resolved === undefined) return undefined;
  const leased = assignLeases(p, resolved, guests, nicPaths);
  if (leased === undefined) return undefined;
  guests = leased;
  return { name, system, lan, networks: resolved, stateDir, ...(iommu ? { iommu } : {}), guests };
}
