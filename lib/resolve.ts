/**
 * Validate `hosts.ts` and resolve it into the model: every problem is collected (with its path
 * and a hint), then thrown at once as a {@link SpecError}; nothing is half-resolved.
 */
import { NixDslError, type NixValue, isExpr, printExpr } from "../dsl/index.ts";
import {
  type Obj,
  boolean,
  describe,
  integer,
  isPlainObject,
  list,
  object,
  string,
} from "./fields.ts";
import { deriveMac, macProblem } from "./mac.ts";
import {
  DEFAULT_INSTALL_TIMEOUT,
  DEFAULT_NIXPKGS,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_STATE_DIR,
  DEFAULT_SYSTEM,
  DISK_SERIAL,
  type ResolvedGuest,
  type ResolvedHost,
  type ResolvedIPv4,
  type ResolvedSpec,
  RUNTIME_ROOT,
} from "./model.ts";
import { GUEST_USER_PREFIX, HOSTNAME, IFNAME, MAX_USER_NAME, defaultTap } from "./names.ts";
import { Problems, SpecError, joinPath, show } from "./problems.ts";
import { INSTALLER_MIN_MEMORY_MIB } from "./runtime/install-protocol.ts";
import { formatSize, parseSize } from "./sizes.ts";
import { sshKeyProblem } from "./ssh-keys.ts";

const TOP_FIELDS = ["nixpkgs", "hosts"] as const;
const HOST_FIELDS = [
  "system",
  "lan",
  "sshKeys",
  "stateDir",
  "offlineInstall",
  "stateVersion",
  "guests",
] as const;
const LAN_FIELDS = ["nic", "bridge", "address", "bridgeMac", "bypassHostFirewall"] as const;
const IPV4_FIELDS = ["addresses", "gateway", "dns"] as const;
const GUEST_FIELDS = [
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
  "config",
  "offlineInstall",
  "installTimeout",
  "stateVersion",
] as const;
const SYSTEMS = ["x86_64-linux", "aarch64-linux"];

const MIN_MEMORY = 128n << 20n;
const MAX_MEMORY = 16n << 40n;
const MIN_DISK = 1n << 30n;
const MAX_DISK = 64n << 40n;

/** Flake URLs: the characters flake references use, nothing that could leave a string or word. */
const FLAKE_URL =
  /^(github|gitlab|sourcehut|path|git\+https|git\+ssh|git\+file|https|tarball\+https|file|flake):[A-Za-z0-9._~:/?#@+=%,&-]+$/;
const STATE_DIR = /^\/var\/lib(\/[A-Za-z0-9._-]+)+$/;
const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const IPV6 = /^[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}$/;
/** NixOS release names: a two-digit year and the month of the release, May or November. */
const STATE_VERSION = /^[0-9]{2}\.(05|11)$/;

/**
 * Check `input` (the default export of `hosts.ts`) and resolve every default.
 * @throws SpecError with every problem found.
 */
export function resolveSpec(input: unknown): ResolvedSpec {
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
  const ids: Identities = { hosts: [], guests: [] };
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
  if (p.list.length > 0) throw new SpecError(p.list);
  return { nixpkgs, hosts };
}

function hostnameProblem(name: string, what: string): string | undefined {
  if (HOSTNAME.test(name)) return undefined;
  return `${show(name)} is not a valid ${what} name: use a lowercase DNS label (a–z, 0–9 and inner "-", starting with a letter, at most 63 characters)`;
}

function resolveHost(
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

  const guests: ResolvedGuest[] = [];
  const guestsPath = `${path}.guests`;
  if (h.guests === undefined)
    p.add(guestsPath, "is missing; describe the host's guests (it may be {})");
  else if (!isPlainObject(h.guests)) p.add(guestsPath, "must be an object of guests by name");
  else {
    for (const [guestName, g] of Object.entries(h.guests)) {
      const guest = resolveGuest(
        p,
        name,
        guestName,
        g,
        guestsPath,
        stateDir,
        hostKeys,
        offlineInstall,
        // A wrong host value is reported once, at the host, not again as missing in each guest.
        h.stateVersion === undefined ? undefined : (hostStateVersion ?? null),
        ids,
      );
      if (guest !== undefined) guests.push(guest);
    }
  }
  if (lan !== undefined) ids.hosts.push({ name, lan });
  if (p.list.length > before || lan === undefined) return undefined;
  return { name, system, lan, stateDir, guests };
}

function ifname(p: Problems, value: unknown, path: string, what: string): string | undefined {
  const s = string(p, value, path);
  if (s === undefined) return undefined;
  if (s.length > 15) {
    p.add(path, `${show(s)} is ${s.length} characters; Linux interface names have at most 15`);
    return undefined;
  }
  if (!IFNAME.test(s)) {
    p.add(
      path,
      `${show(s)} is not a valid ${what} name: 1–15 characters from letters, digits, "_", "." and "-", not starting with a symbol`,
    );
    return undefined;
  }
  return s;
}

function resolveLan(p: Problems, value: unknown, path: string): ResolvedHost["lan"] | undefined {
  if (value === undefined) {
    p.add(
      path,
      'is missing; give the host NIC and the bridge, e.g. { nic: "enp0s31f6", bridge: "br0" }',
    );
    return undefined;
  }
  const lan = object(p, value, path, LAN_FIELDS);
  if (lan === undefined) return undefined;
  const nic =
    lan.nic === undefined
      ? (p.add(`${path}.nic`, "is missing"), undefined)
      : ifname(p, lan.nic, `${path}.nic`, "interface");
  const bridge =
    lan.bridge === undefined
      ? (p.add(`${path}.bridge`, "is missing"), undefined)
      : ifname(p, lan.bridge, `${path}.bridge`, "bridge");
  if (nic !== undefined && nic === bridge)
    p.add(`${path}.bridge`, `must differ from the NIC ${show(nic)}`);
  let address: "dhcp" | ResolvedIPv4 = "dhcp";
  if (lan.address !== undefined && lan.address !== "dhcp") {
    const a = staticIPv4(p, lan.address, `${path}.address`);
    if (a !== undefined) address = a;
  }
  let bridgeMac: string | undefined;
  if (lan.bridgeMac !== undefined) {
    const m = string(p, lan.bridgeMac, `${path}.bridgeMac`);
    const why = m === undefined ? undefined : macProblem(m.toLowerCase());
    if (why) p.add(`${path}.bridgeMac`, why);
    else if (m !== undefined) bridgeMac = m.toLowerCase();
  }
  let bypassHostFirewall = true;
  if (lan.bypassHostFirewall !== undefined) {
    bypassHostFirewall = boolean(p, lan.bypassHostFirewall, `${path}.bypassHostFirewall`) ?? true;
  }
  if (nic === undefined || bridge === undefined) return undefined;
  return { nic, bridge, address, ...(bridgeMac ? { bridgeMac } : {}), bypassHostFirewall };
}

function staticIPv4(p: Problems, value: unknown, path: string): ResolvedIPv4 | undefined {
  if (typeof value === "string") {
    p.add(
      path,
      `${show(value)}: use "dhcp" or { addresses: ["192.168.1.10/24"], gateway: "192.168.1.1" }`,
    );
    return undefined;
  }
  const o = object(p, value, path, IPV4_FIELDS);
  if (o === undefined) return undefined;
  const before = p.list.length;
  const addresses: { address: string; prefixLength: number }[] = [];
  const list_ =
    o.addresses === undefined
      ? (p.add(`${path}.addresses`, "is missing"), undefined)
      : list(p, o.addresses, `${path}.addresses`);
  if (list_ !== undefined && list_.length === 0)
    p.add(`${path}.addresses`, "is empty; give at least one address such as 192.168.1.10/24");
  list_?.forEach((a, i) => {
    const m = typeof a === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(a) : null;
    if (m === null || !IPV4.test(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 32) {
      p.add(
        joinPath(`${path}.addresses`, i),
        `${show(a)} is not an IPv4 address with prefix length such as 192.168.1.10/24`,
      );
    } else addresses.push({ address: m[1]!, prefixLength: Number(m[2]) });
  });
  const gateway =
    o.gateway === undefined
      ? (p.add(`${path}.gateway`, "is missing"), undefined)
      : string(p, o.gateway, `${path}.gateway`);
  if (gateway !== undefined && !IPV4.test(gateway))
    p.add(`${path}.gateway`, `${show(gateway)} is not an IPv4 address`);
  const dns: string[] = [];
  if (o.dns !== undefined) {
    list(p, o.dns, `${path}.dns`)?.forEach((d, i) => {
      if (typeof d !== "string" || !(IPV4.test(d) || IPV6.test(d)))
        p.add(joinPath(`${path}.dns`, i), `${show(d)} is not an IP address`);
      else dns.push(d);
    });
  }
  if (p.list.length > before || gateway === undefined) return undefined;
  return { addresses, gateway, dns };
}

function sshKeys(p: Problems, value: unknown, path: string): string[] {
  if (value === undefined) return [];
  const keys: string[] = [];
  list(p, value, path)?.forEach((k, i) => {
    const why = sshKeyProblem(k);
    if (why) p.add(joinPath(path, i), why);
    else keys.push(k as string);
  });
  return keys;
}

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

function resolveGuest(
  p: Problems,
  host: string,
  name: string,
  value: unknown,
  guestsPath: string,
  hostStateDir: string,
  hostKeys: readonly string[],
  hostOfflineInstall: boolean,
  hostStateVersion: string | null | undefined,
  ids: Identities,
): ResolvedGuest | undefined {
  const path = joinPath(guestsPath, name);
  const before = p.list.length;
  const bad = hostnameProblem(name, "guest");
  if (bad) p.add(path, bad);
  else if (GUEST_USER_PREFIX.length + name.length > MAX_USER_NAME) {
    p.add(
      path,
      `${show(name)} is ${name.length} characters; its system user ${GUEST_USER_PREFIX}${name} would exceed Linux's ${MAX_USER_NAME}-character limit, so use at most ${MAX_USER_NAME - GUEST_USER_PREFIX.length}`,
    );
  }
  const g: Obj | undefined = object(p, value, path, GUEST_FIELDS);
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
  // Recorded even when other fields are wrong, so clashes are reported in the same run.
  ids.guests.push({ host, name, path, tap, mac, display });
  const autostart = g.autostart === undefined ? true : boolean(p, g.autostart, `${path}.autostart`);
  const ownKeys = sshKeys(p, g.sshKeys, `${path}.sshKeys`);
  const shutdownTimeout =
    g.shutdownTimeout === undefined
      ? DEFAULT_SHUTDOWN_TIMEOUT
      : integer(p, g.shutdownTimeout, `${path}.shutdownTimeout`, 1, 3600, "seconds");
  const ipv4 = g.ipv4 === undefined ? undefined : staticIPv4(p, g.ipv4, `${path}.ipv4`);
  const offline =
    g.offlineInstall === undefined
      ? hostOfflineInstall
      : boolean(p, g.offlineInstall, `${path}.offlineInstall`);
  const installTimeout =
    g.installTimeout === undefined
      ? DEFAULT_INSTALL_TIMEOUT
      : integer(p, g.installTimeout, `${path}.installTimeout`, 60, 86400, "seconds");
  let guestStateVersion: string | undefined;
  if (g.stateVersion !== undefined)
    guestStateVersion = stateVersion(p, g.stateVersion, `${path}.stateVersion`);
  else if (hostStateVersion === undefined)
    p.add(`${path}.stateVersion`, stateVersionMissing(guestsPath.slice(0, -".guests".length)));
  else if (hostStateVersion !== null) guestStateVersion = hostStateVersion;
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

  if (
    p.list.length > before ||
    memoryBytes === undefined ||
    diskBytes === undefined ||
    cpus === undefined ||
    tap === undefined ||
    mac === undefined ||
    autostart === undefined ||
    shutdownTimeout === undefined ||
    offline === undefined ||
    installTimeout === undefined ||
    guestStateVersion === undefined
  ) {
    return undefined;
  }
  const stateDir = `${hostStateDir}/${name}`;
  const runtimeDir = `${RUNTIME_ROOT}/${name}`;
  return {
    name,
    host,
    memoryBytes,
    memoryMiB: Number(memoryBytes >> 20n),
    diskBytes,
    cpus,
    ...(display === undefined ? {} : { vnc: { address: vncAddress, display } }),
    tap,
    mac,
    autostart,
    sshKeys: [...new Set([...hostKeys, ...ownKeys])],
    shutdownTimeout,
    ...(ipv4 ? { ipv4 } : {}),
    ...(config ? { config } : {}),
    stateVersion: guestStateVersion,
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
  };
}

/** Said where a guest's state version is missing: where to set it, and why there is no default. */
function stateVersionMissing(hostPath: string): string {
  return `is missing; set it here or in ${hostPath}.stateVersion to the NixOS release the guest is first installed with, such as "26.05", and keep it. There is no default: it fixes the on-disk formats of stateful services such as PostgreSQL, which must never change behind your back when vmflake is upgraded`;
}

/** A NixOS release name for `system.stateVersion`, or undefined after reporting. */
function stateVersion(p: Problems, value: unknown, path: string): string | undefined {
  if (typeof value !== "string") {
    p.add(
      path,
      `must be a NixOS release name as a string, such as "26.05", got ${describe(value)}`,
    );
    return undefined;
  }
  if (!STATE_VERSION.test(value)) {
    p.add(
      path,
      `${show(value)} is not a NixOS release name: those are "YY.05" and "YY.11", such as "26.05"`,
    );
    return undefined;
  }
  return value;
}

/**
 * Reports every value in a guest's own settings that has no Nix form (NaN, a function, a NUL
 * byte …) at its path; true when there is none.
 */
function configProblems(p: Problems, value: unknown, path: string): boolean {
  if (isPlainObject(value)) {
    let ok = true;
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\0")) {
        p.add(path, `the name ${show(k)} holds a NUL byte, which Nix names cannot`);
        ok = false;
      }
      if (v !== undefined) ok = configProblems(p, v, joinPath(path, k)) && ok;
    }
    return ok;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => configProblems(p, v, joinPath(path, i))).every(Boolean);
  }
  try {
    printExpr(value as NixValue);
    return true;
  } catch (e) {
    if (!(e instanceof NixDslError)) throw e;
    p.add(path, `${e.message}; give a plain value or a vmflake/dsl expression`);
    return false;
  }
}

/** What must be unique, recorded for every host and guest whatever else is wrong with them. */
interface Identities {
  readonly hosts: { readonly name: string; readonly lan: ResolvedHost["lan"] }[];
  readonly guests: {
    readonly host: string;
    readonly name: string;
    readonly path: string;
    readonly tap: string | undefined;
    readonly mac: string | undefined;
    readonly display: number | undefined;
  }[];
}

/**
 * Names, taps, VNC displays and MACs that must not clash: guest names and MACs across all hosts
 * (they share a LAN; bridge MACs included), displays and taps per host (taps also distinct from
 * the host's NIC and bridge).
 */
function checkUnique(p: Problems, ids: Identities, rawHosts: Obj): void {
  const names = new Map<string, string>();
  const macs = new Map<string, string>();
  const displays = new Map<string, string>();
  const taps = new Map<string, string>();
  for (const h of ids.hosts) {
    if (h.lan.bridgeMac !== undefined) macs.set(h.lan.bridgeMac, `the bridge of host ${h.name}`);
  }
  for (const g of ids.guests) {
    const owner = names.get(g.name);
    if (owner !== undefined) {
      p.add(
        g.path,
        `guest name ${show(g.name)} is also used on host ${owner}; guests are hostnames on a LAN, so names must be unique`,
      );
    } else names.set(g.name, g.host);
    if (Object.hasOwn(rawHosts, g.name)) {
      p.add(g.path, `${show(g.name)} is also a host name; hostnames must be unique`);
    }
    if (g.mac !== undefined) {
      const macOwner = macs.get(g.mac);
      if (macOwner !== undefined) {
        p.add(
          `${g.path}.mac`,
          `${g.mac} is also the MAC of ${macOwner}; set a different mac explicitly`,
        );
      } else macs.set(g.mac, g.path);
    }
    if (g.display !== undefined) {
      const other = displays.get(`${g.host}/${g.display}`);
      if (other !== undefined) {
        p.add(
          `${g.path}.vnc`,
          `display ${g.display} is already used by guest ${other} on this host`,
        );
      } else displays.set(`${g.host}/${g.display}`, g.name);
    }
    if (g.tap !== undefined) {
      const other = taps.get(`${g.host}/${g.tap}`);
      if (other !== undefined) {
        p.add(`${g.path}.tap`, `${show(g.tap)} is already the tap of guest ${other} on this host`);
      } else taps.set(`${g.host}/${g.tap}`, g.name);
      const lan = ids.hosts.find((h) => h.name === g.host)?.lan;
      if (lan !== undefined && (g.tap === lan.nic || g.tap === lan.bridge)) {
        p.add(
          `${g.path}.tap`,
          `${show(g.tap)} is the host's ${g.tap === lan.nic ? "NIC" : "bridge"}; a guest needs a tap of its own`,
        );
      }
    }
  }
}
