/** One guest: its fields, its defaults from its host, and every value derived from its name. */
import { isExpr } from "../../dsl/index.ts";
import { boolean, fieldList, integer, isPlainObject, object, string } from "../fields.ts";
import { deriveMac, macProblem } from "../mac.ts";
import {
  DEFAULT_INSTALL_TIMEOUT,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DISK_SERIAL,
  type ResolvedGuest,
  type ResolvedNic,
  RUNTIME_ROOT,
} from "../model.ts";
import { GUEST_USER_PREFIX, MAX_USER_NAME, defaultTap } from "../names.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import { INSTALLER_MIN_MEMORY_MIB } from "../runtime/install-protocol.ts";
import { formatSize, parseSize } from "../sizes.ts";
import type { GuestSpec } from "../spec.ts";
import { configProblems } from "./config.ts";
import { resolveDisks } from "./disks.ts";
import { MountPoints } from "./paths.ts";
import { resolveShares } from "./shares.ts";
import { guestFirmware } from "./firmware.ts";
import { IPV4, staticIPv4 } from "./ipv4.ts";
import { resolvePassthrough } from "./passthrough.ts";
import { type DeclaredLease, type KnownNetwork, resolveNics } from "./networks.ts";
import { stateVersion, stateVersionMissing } from "./state-version.ts";
import type { Identities } from "./unique.ts";
import { hostnameProblem, ifname, sshKeys } from "./values.ts";

/** The fields of a guest. */
export const GUEST_FIELDS = fieldList<GuestSpec>()([
  "memory",
  "disk",
  "cpus",
  "vnc",
  "vncListenAddress",
  "tap",
  "mac",
  "autostart",
  "sshKeys",
  "shutdownTimeout",
  "ipv4",
  "nics",
  "config",
  "offlineInstall",
  "installTimeout",
  "stateVersion",
  "pci",
  "usb",
  "disks",
  "shares",
  "firmware",
  "tpm",
  "memoryBalloon",
]);

const MIN_MEMORY = 128n << 20n;
const MAX_MEMORY = 16n << 40n;
const MIN_DISK = 1n << 30n;
const MAX_DISK = 64n << 40n;

/** What every guest of a host is resolved with: the host's resolved values and the run's state. */
export interface GuestContext {
  /** Where the guest reports its problems. */
  readonly problems: Problems;
  /** The host's name. */
  readonly host: string;
  /** The host's path, `hosts.<host>`. */
  readonly hostPath: string;
  /** The host's state directory; the guest's is under it. */
  readonly stateDir: string;
  /** The host's valid ssh keys, which come before the guest's own. */
  readonly sshKeys: readonly string[];
  /** The host's default of `offlineInstall`. */
  readonly offlineInstall: boolean;
  /** The host's `stateVersion`, when it gave a valid one. */
  readonly stateVersion: string | undefined;
  /** Whether the host gave a `stateVersion` at all, valid or not. */
  readonly stateVersionGiven: boolean;
  /** Where the guest records its name, tap, MAC and display for the uniqueness checks. */
  readonly ids: Identities;
  /** What is known of the host's networks, right or wrong, for the checks of the guest's NICs. */
  readonly networks: readonly KnownNetwork[];
  /** The names of the host's networks as given, right or wrong. */
  readonly networkNames: readonly string[];
  /** Where each resolved NIC was declared, for problems found once all guests are known. */
  readonly nicPaths: Map<ResolvedNic, string>;
  /** Where the NICs' fixed addresses are recorded, whatever else is wrong with their guests. */
  readonly leases: DeclaredLease[];
}

/**
 * The guest `name` of `ctx.host`, or undefined after reporting its problems. Its identities are
 * recorded in `ctx.ids` even when other fields are wrong.
 */
export function resolveGuest(
  ctx: GuestContext,
  name: string,
  value: unknown,
): ResolvedGuest | undefined {
  const { problems: p, host, ids } = ctx;
  const path = joinPath(`${ctx.hostPath}.guests`, name);
  const before = p.list.length;
  const bad = hostnameProblem(name, "guest");
  if (bad) p.add(path, bad);
  else if (GUEST_USER_PREFIX.length + name.length > MAX_USER_NAME) {
    p.add(
      path,
      `${show(name)} is ${name.length} characters; its system user ${GUEST_USER_PREFIX}${name} would exceed Linux's ${MAX_USER_NAME}-character limit, so use at most ${MAX_USER_NAME - GUEST_USER_PREFIX.length}`,
    );
  }
  const g = object(p, value, path, GUEST_FIELDS);
  if (g === undefined) return undefined;

  const memoryBytes = size(p, g.memory, `${path}.memory`, MIN_MEMORY, MAX_MEMORY, "memory");
  if (memoryBytes !== undefined && memoryBytes % (1n << 20n) !== 0n) {
    p.add(
      `${path}.memory`,
      `${show(g.memory)} is not a whole number of MiB; QEMU allocates memory in MiB`,
    );
  }
  const diskBytes = size(p, g.disk, `${path}.disk`, MIN_DISK, MAX_DISK, "disk");
  const cpus = g.cpus === undefined ? 1 : integer(p, g.cpus, `${path}.cpus`, 1, 255, "a CPU count");
  const display =
    g.vnc === undefined
      ? undefined
      : integer(p, g.vnc, `${path}.vnc`, 0, 99, "a VNC display number");
  let vncAddress = "127.0.0.1";
  if (g.vncListenAddress !== undefined) {
    const a = string(p, g.vncListenAddress, `${path}.vncListenAddress`);
    if (a !== undefined && !IPV4.test(a))
      p.add(`${path}.vncListenAddress`, `${show(a)} is not an IPv4 address such as 127.0.0.1`);
    else if (a !== undefined) vncAddress = a;
    if (g.vnc === undefined)
      p.add(`${path}.vncListenAddress`, "is set but vnc is not; give a display number in vnc too");
  }
  const tap =
    g.tap === undefined ? defaultTap(name) : ifname(p, g.tap, `${path}.tap`, "tap interface");
  let mac: string | undefined = deriveMac(host, name);
  if (g.mac !== undefined) {
    const m = string(p, g.mac, `${path}.mac`);
    const why = m === undefined ? undefined : macProblem(m.toLowerCase());
    if (why) p.add(`${path}.mac`, why);
    mac = m === undefined || why ? undefined : m.toLowerCase();
  }
  const nics = resolveNics(
    {
      problems: p,
      host,
      guest: name,
      path,
      networks: ctx.networks,
      networkNames: ctx.networkNames,
      leases: ctx.leases,
      tap: { given: g.tap !== undefined, value: tap },
      mac: { given: g.mac !== undefined, value: mac },
    },
    g.nics,
  );
  // Recorded even when other fields are wrong, so clashes are reported in the same run.
  ids.guests.push({
    host,
    name,
    path,
    tap: nics[0]?.tap ?? tap,
    mac: nics[0]?.mac ?? mac,
    display,
    disks: isPlainObject(g.disks) && Object.keys(g.disks).length > 0,
  });
  for (const nic of nics.slice(1)) ids.nics.push({ host, guest: name, ...nic });
  const autostart = g.autostart === undefined ? true : boolean(p, g.autostart, `${path}.autostart`);
  const ownKeys = sshKeys(p, g.sshKeys, `${path}.sshKeys`);
  const shutdownTimeout =
    g.shutdownTimeout === undefined
      ? DEFAULT_SHUTDOWN_TIMEOUT
      : integer(p, g.shutdownTimeout, `${path}.shutdownTimeout`, 1, 3600, "seconds");
  const ipv4 = g.ipv4 === undefined ? undefined : staticIPv4(p, g.ipv4, `${path}.ipv4`);
  const offline =
    g.offlineInstall === undefined
      ? ctx.offlineInstall
      : boolean(p, g.offlineInstall, `${path}.offlineInstall`);
  const installTimeout =
    g.installTimeout === undefined
      ? DEFAULT_INSTALL_TIMEOUT
      : integer(p, g.installTimeout, `${path}.installTimeout`, 60, 86400, "seconds");
  let guestStateVersion: string | undefined;
  if (g.stateVersion !== undefined)
    guestStateVersion = stateVersion(p, g.stateVersion, `${path}.stateVersion`);
  // A wrong host value is reported once, at the host, not again as missing in each guest.
  else if (!ctx.stateVersionGiven) p.add(`${path}.stateVersion`, stateVersionMissing(ctx.hostPath));
  else guestStateVersion = ctx.stateVersion;
  const passthrough = resolvePassthrough(p, g, path, { host, guest: name }, ids.devices);
  const firmware = guestFirmware(p, path, g);
  let config: ResolvedGuest["config"];
  if (g.config !== undefined) {
    if (!isPlainObject(g.config) && !isExpr(g.config)) {
      p.add(
        `${path}.config`,
        "must be an object of NixOS settings, e.g. { services: { nginx: { enable: true } } }",
      );
    } else if (configProblems(p, g.config, `${path}.config`)) {
      config = g.config as ResolvedGuest["config"];
    }
  }
  const mounts = new MountPoints();
  const disks = resolveDisks(p, g.disks, path, mounts);
  const shares = resolveShares(p, g.shares, path, mounts);

  if (
    p.list.length > before ||
    disks === undefined ||
    shares === undefined ||
    memoryBytes === undefined ||
    diskBytes === undefined ||
    cpus === undefined ||
    nics.length === 0 ||
    nics.some((nic) => nic.tap === undefined || nic.mac === undefined) ||
    autostart === undefined ||
    shutdownTimeout === undefined ||
    offline === undefined ||
    installTimeout === undefined ||
    guestStateVersion === undefined ||
    firmware === undefined
  ) {
    return undefined;
  }
  const resolvedNics = nics.map((nic) => {
    const r: ResolvedNic = {
      network: nic.network,
      tap: nic.tap!,
      mac: nic.mac!,
      ...(nic.ipv4 === undefined ? {} : { ipv4: nic.ipv4 }),
    };
    ctx.nicPaths.set(r, nic.path);
    return r;
  });
  const stateDir = `${ctx.stateDir}/${name}`;
  const runtimeDir = `${RUNTIME_ROOT}/${name}`;
  return {
    name,
    host,
    memoryBytes,
    memoryMiB: Number(memoryBytes >> 20n),
    diskBytes,
    cpus,
    ...(display === undefined ? {} : { vnc: { address: vncAddress, display } }),
    tap: resolvedNics[0]!.tap,
    mac: resolvedNics[0]!.mac,
    nics: resolvedNics,
    autostart,
    sshKeys: [...new Set([...ctx.sshKeys, ...ownKeys])],
    shutdownTimeout,
    ...(ipv4 ? { ipv4 } : {}),
    ...(config ? { config } : {}),
    stateVersion: guestStateVersion,
    ...firmware,
    user: `${GUEST_USER_PREFIX}${name}`,
    unit: `qemu-guest-${name}`,
    stateDir,
    stateDirectory: stateDir.slice("/var/lib/".length),
    runtimeDir,
    runtimeDirectory: runtimeDir.slice("/run/".length),
    imagePath: `${stateDir}/disk.qcow2`,
    qmpSocket: `${runtimeDir}/qmp.sock`,
    serialLog: `${stateDir}/console.log`,
    diskSerial: DISK_SERIAL,
    install: {
      offline,
      timeoutSeconds: installTimeout,
      memoryMiB: Math.max(Number(memoryBytes >> 20n), INSTALLER_MIN_MEMORY_MIB),
      unit: `qemu-guest-${name}-install`,
      workDir: `${stateDir}/install.tmp`,
      log: `${stateDir}/install.log`,
    },
    ...(passthrough ? { passthrough } : {}),
    disks,
    shares,
  };
}

/** A size between `min` and `max` (a required field: missing is reported), or undefined. */
function size(
  p: Problems,
  value: unknown,
  path: string,
  min: bigint,
  max: bigint,
  what: string,
): bigint | undefined {
  if (value === undefined) {
    p.add(path, `is missing; give the ${what} such as ${formatSize(min * 4n)}`);
    return undefined;
  }
  const r = parseSize(value);
  if ("error" in r) {
    p.add(path, r.error);
    return undefined;
  }
  if (r.bytes < min)
    p.add(path, `${show(value)} is too small; the ${what} must be at least ${formatSize(min)}`);
  else if (r.bytes > max)
    p.add(path, `${show(value)} is too large; the ${what} can be at most ${formatSize(max)}`);
  else return r.bytes;
  return undefined;
}
