/**
 * Real NixOS tier: a minimal host importing each emitted nixosModules.<host> is evaluated by the
 * real NixOS module system down to its toplevel .drv, with the scripted network backend and with
 * `networking.useNetworkd = true` (one `nix eval` per host and backend). The rendered units and
 * networkd files are checked: the guest unit runs exactly the QEMU command line of the runtime's
 * builder (lib/runtime/nixos/qemu.nix), its disk and stop programs are the runtime's scripts, it is
 * sandboxed and ordered on its tap's unit, and the tap, bridge and NIC come out as intended with
 * both backends: the bridge lists only the NIC, each tap's unit makes its tap a port (after the
 * bridge's device), and the scripted bridge unit takes the existing taps back when it makes the
 * bridge anew (ExecStartPost, the tap program's `attach`).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../lib/mac.ts";
import { defaultTap, netDeviceUnit } from "../../lib/names.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { type QemuGuest, guestQemuArgs, installQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { type RuntimeScriptName, runtimeScript } from "../support/runtime-files.ts";
import {
  type BuiltFlake,
  buildFlake,
  removeBuiltFlakes,
  describeNixpkgs,
  drvEnv,
  drvNamed,
  realEval,
  reportTime,
  unitSection,
  unitValues,
} from "./support.ts";

interface HostResult {
  readonly drvPath: string;
  readonly useNetworkd: boolean;
  readonly units: { readonly [unit: string]: string };
  readonly networkUnits: { readonly [file: string]: string };
  readonly networkingUnitDrvs: { readonly [unit: string]: readonly string[] };
  /** The .drv files each Exec line of the runtime's units refers to, by service name. */
  readonly execDrvs: {
    readonly [service: string]: {
      readonly start: readonly string[];
      readonly startPre: readonly string[];
      readonly stop: readonly string[];
    };
  };
  readonly qemuExe: string;
  readonly installerIso: string;
  readonly installerFlake: string;
  readonly users: {
    readonly [user: string]: {
      readonly isSystemUser: boolean;
      readonly group: string;
      readonly extraGroups: readonly string[];
    };
  };
  readonly groups: readonly string[];
  readonly kernelModules: readonly string[];
  readonly sysctl: { readonly [key: string]: number };
  readonly dhcpcdEnabled: boolean;
  readonly failedAssertions: readonly string[];
  readonly warnings: readonly string[];
}

type Backend = "scripted" | "networkd";
const BACKENDS: readonly Backend[] = ["scripted", "networkd"];

let scriptedNoteShown = false;

function evalHost(flake: BuiltFlake, host: string, backend: Backend): HostResult {
  const { result, seconds } = realEval<{ scriptedListed: boolean; host: HostResult }>({
    flakeDir: flake.dir,
    scenario: "host",
    host,
    networkd: backend === "networkd",
  });
  reportTime(`host eval, ${host}, ${backend} (toplevel .drv and units)`, seconds);
  if (!result.scriptedListed && backend === "scripted" && !scriptedNoteShown) {
    scriptedNoteShown = true;
    console.warn(
      "note: this nixpkgs' module-list.nix lacks tasks/network-interfaces-scripted.nix; " +
        "real-nixos.nix imports it so that the scripted backend exists at all",
    );
  }
  return result.host;
}

/** The argv of the one `key=` line of a unit. */
function execArgv(unit: string, key: string): string[] {
  const lines = unitValues(unit, key);
  expect(lines, `${key}= lines`).toHaveLength(1);
  return parseExecLine(lines[0]!);
}

/** The program a writeShellApplication derivation among `drvs` makes, and the text it wraps. */
function program(drvs: readonly string[], name: string): { exe: string; text: string } {
  const env = drvEnv(drvNamed(drvs, name));
  return { exe: `${env.out!}/bin/${name}`, text: env.text! };
}

/** Asserts that a program is the runtime's script `script` (writeShellApplication adds a prelude). */
function expectRuntimeScript(p: { text: string }, script: RuntimeScriptName): void {
  expect(p.text, `the text of scripts/${script}.sh`).toContain(runtimeScript(script));
}

/** The QEMU program the guest units run: vmflake.qemuPackage's qemu-kvm (pkgs.qemu_kvm). */
function expectQemu(h: HostResult, drvs: readonly string[], argv0: string): void {
  const qemu = drvs.filter((d) => /-qemu-host-cpu-only-[^/]*\.drv$/.test(d));
  expect(qemu, "the qemu_kvm derivation").toHaveLength(1);
  expect(argv0).toBe(`${drvEnv(qemu[0]!).out!}/bin/qemu-kvm`);
  expect(h.qemuExe).toBe(argv0);
}

/** A guest as the runtime module hands it to qemu.nix, with the module's derived paths. */
function runtimeGuest(
  name: string,
  g: Omit<Partial<QemuGuest>, "install"> & { tap: string; mac: string },
  install: Partial<QemuGuest["install"]> = {},
): QemuGuest {
  const state = `/var/lib/qemu-guests/${name}`;
  return qemuGuest({
    name,
    image: `${state}/disk.qcow2`,
    consoleLog: `${state}/console.log`,
    consoleSocket: `/run/qemu-guests/${name}/console.sock`,
    qmpSocket: `/run/qemu-guests/${name}/qmp.sock`,
    ...g,
    install: {
      offline: false,
      memoryMiB: 3072,
      workDir: `${state}/install.tmp`,
      log: `${state}/install.log`,
      ...install,
    },
  });
}

const space = (v: readonly string[]) => v.flatMap((x) => x.split(" "));

const HARDENING: readonly (readonly [string, readonly string[]])[] = [
  ["NoNewPrivileges", ["true"]],
  ["ProtectSystem", ["strict"]],
  ["ProtectHome", ["true"]],
  ["PrivateTmp", ["true"]],
  ["ProtectKernelTunables", ["true"]],
  ["ProtectKernelModules", ["true"]],
  ["ProtectKernelLogs", ["true"]],
  ["ProtectControlGroups", ["true"]],
  ["ProtectClock", ["true"]],
  ["ProtectHostname", ["true"]],
  ["RestrictSUIDSGID", ["true"]],
  ["RestrictRealtime", ["true"]],
  ["RestrictNamespaces", ["true"]],
  ["LockPersonality", ["true"]],
  ["DevicePolicy", ["closed"]],
  ["DeviceAllow", ["/dev/kvm rw", "/dev/net/tun rw", "/dev/vhost-net rw"]],
  ["RestrictAddressFamilies", ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"]],
  ["CapabilityBoundingSet", [""]],
  ["UMask", ["0027"]],
];

/** Lines of every unit that make it need (not merely follow) a `-netdev.service` unit. */
function netdevRequirements(units: { readonly [unit: string]: string }): string[] {
  return Object.entries(units).flatMap(([name, text]) =>
    ["Requires", "Requisite", "BindsTo", "PartOf"].flatMap((k) =>
      space(unitValues(text, k))
        .filter((u) => u.endsWith("-netdev.service"))
        .map((u) => `${name}: ${k}=${u}`),
    ),
  );
}

/** The interfaces dhcpcd is told to leave alone (scripted backend). */
function dhcpcdDenied(h: HostResult): string[] {
  const conf = drvEnv(drvNamed(h.networkingUnitDrvs["dhcpcd.service"]!, "dhcpcd.conf")).text!;
  const line = conf.split("\n").find((l) => l.startsWith("denyinterfaces "));
  expect(line, "denyinterfaces in dhcpcd.conf").toBeDefined();
  return line!.split(" ").slice(1);
}

/** The text of the script a NixOS unit-script derivation writes. */
function unitScript(drvs: readonly string[], name: string): string {
  return drvEnv(drvNamed(drvs, name)).text!;
}

function netdevStartScript(h: HostResult, ifname: string): string {
  return unitScript(
    h.networkingUnitDrvs[`${ifname}-netdev.service`]!,
    `unit-script-${ifname}-netdev-start`,
  );
}

function addressesStartScript(h: HostResult, ifname: string): string {
  const unit = `network-addresses-${ifname}`;
  return unitScript(h.networkingUnitDrvs[`${unit}.service`]!, `unit-script-${unit}-start`);
}

/**
 * The scripted bridge unit's ExecStartPost: the runtime's tap program (the one its tap units run)
 * attaching every guest's tap, in the order of the guests' names.
 */
function expectBridgeAttach(h: HostResult, bridge: string, taps: readonly string[]): void {
  const unit = h.units[`${bridge}-netdev.service`]!;
  const tap = program(h.networkingUnitDrvs[`${bridge}-netdev.service`]!, "vmflake-tap");
  expectRuntimeScript(tap, "tap");
  expect(execArgv(unit, "ExecStartPost")).toEqual([tap.exe, "attach", bridge, ...taps]);
  // The same program as the taps' units (one derivation: the same store path).
  for (const t of taps) {
    expect(execArgv(h.units[`vmflake-tap-${t}.service`]!, "ExecStart")[0]).toBe(tap.exe);
  }
}

/**
 * The scripted bridge unit's own dependencies: only on the NIC's device, none on any tap's (a
 * listed tap would bind the bridge, and so the host's address, to that tap's device).
 */
function expectBridgeBoundToNicOnly(h: HostResult, bridge: string, nic: string): void {
  const unit = h.units[`${bridge}-netdev.service`]!;
  expect(space(unitValues(unit, "BindsTo"))).toEqual([netDeviceUnit(nic)]);
  for (const k of ["Requires", "Requisite"]) expect(unitValues(unit, k), k).toEqual([]);
  expect(space(unitValues(unit, "After")).filter((u) => u.endsWith(".device"))).toEqual([
    netDeviceUnit(nic),
  ]);
  const start = netdevStartScript(h, bridge);
  expect(start).toContain(`ip link add name "${bridge}" type bridge`);
  expect(start.match(/ip link set dev "[^"]+" master/g)).toEqual([
    `ip link set dev "${nic}" master`,
  ]);
}

/**
 * The tap unit of a guest with both backends: the runtime's tap program brings the tap up for the
 * guest's user with the guest's MAC (first byte fe) on the bridge, and takes it down on stop. It
 * makes the tap a port itself, so it wants the bridge's device and is ordered after it and after
 * the bridge's unit; bound to nothing, so neither the bridge nor the tap takes the other down.
 */
function expectTapUnit(
  ev: { readonly [b: string]: HostResult },
  a: { guest: string; tap: string; mac: string; bridge: string; multiQueue?: boolean },
): void {
  const name = `vmflake-tap-${a.tap}`;
  const h = ev.scripted!;
  const unit = h.units[`${name}.service`]!;
  expect(unit, `${name}.service`).toBeDefined();
  const tap = program(h.execDrvs[name]!.start, "vmflake-tap");
  expectRuntimeScript(tap, "tap");
  expect(tap.text).toMatch(/export PATH=".*-iproute2-[^/]*\/bin:.*-coreutils-[^/]*\/bin:\$PATH"/);
  expect(execArgv(unit, "ExecStart")).toEqual([
    tap.exe,
    "up",
    a.tap,
    `vm-${a.guest}`,
    `fe${a.mac.slice(2)}`,
    a.bridge,
    // A guest with several CPUs has a queue per CPU on its NIC.
    ...(a.multiQueue ? ["multi-queue"] : []),
  ]);
  expect(execArgv(unit, "ExecStop")).toEqual([tap.exe, "down", a.tap]);
  expect(unitValues(unit, "Type")).toEqual(["oneshot"]);
  expect(unitValues(unit, "RemainAfterExit")).toEqual(["true"]);
  // A rebuild never restarts it: that would delete the running guest's tap.
  expect(unitValues(unit, "X-RestartIfChanged")).toEqual(["false"]);
  expect(unitSection(unit, "Install")).toEqual(["WantedBy=multi-user.target"]);
  expect(unitValues(unit, "Before")).toEqual([]);
  expect(space(unitValues(unit, "Wants"))).toEqual([netDeviceUnit(a.bridge)]);
  expect(space(unitValues(unit, "After"))).toEqual([
    "network-pre.target",
    netDeviceUnit(a.bridge),
    `${a.bridge}-netdev.service`,
  ]);
  for (const k of ["Requires", "Requisite", "BindsTo", "PartOf"]) {
    expect(unitValues(unit, k), `${name}: ${k}=`).toEqual([]);
  }
  // NixOS makes no unit of its own for the tap, with either backend.
  for (const b of BACKENDS) {
    expect(ev[b]!.units[`${a.tap}-netdev.service`], `${b}: ${a.tap}-netdev.service`).toBe(
      undefined,
    );
    expect(ev[b]!.units[`${name}.service`], `${b}: ${name}.service`).toBe(unit);
  }
}

afterAll(removeBuiltFlakes);

describeNixpkgs("real NixOS: host module of the example (study with alice and bob)", () => {
  let flake: BuiltFlake;
  const ev: { [backend: string]: HostResult } = {};
  const alice = runtimeGuest("alice", {
    memoryMiB: 1024,
    tap: "tap0",
    mac: "52:54:00:1c:ee:db",
    vnc: { display: 1, address: "127.0.0.1" },
  });
  const bob = runtimeGuest("bob", {
    memoryMiB: 1024,
    tap: "tap1",
    mac: "52:54:00:ac:19:5f",
    vnc: { display: 2, address: "127.0.0.1" },
  });

  beforeAll(async () => {
    flake = await buildFlake("example");
    for (const b of BACKENDS) ev[b] = evalHost(flake, "study", b);
  }, 900_000);

  it("evaluates to a toplevel .drv with both network backends, no failed assertion or warning", () => {
    for (const backend of BACKENDS) {
      const h = ev[backend]!;
      expect(h.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-.*\.drv$/);
      expect(h.useNetworkd).toBe(backend === "networkd");
      expect(h.failedAssertions).toEqual([]);
      expect(h.warnings).toEqual([]);
    }
    expect(ev.scripted!.drvPath).not.toBe(ev.networkd!.drvPath);
  });

  it("qemu-guest-<g>.service: ExecStart runs qemu-kvm with exactly the arguments of qemu.nix's guest builder", () => {
    const h = ev.scripted!;
    const expected = guestQemuArgs([alice, bob]);
    for (const [i, g] of [alice, bob].entries()) {
      const argv = execArgv(h.units[`qemu-guest-${g.name}.service`]!, "ExecStart");
      expectQemu(h, h.execDrvs[`qemu-guest-${g.name}`]!.start, argv[0]!);
      expect(argv.slice(1)).toEqual(expected[i]);
    }
    // The values of the hosts file reach QEMU (independently of the builder's own tests).
    const args = execArgv(h.units["qemu-guest-alice.service"]!, "ExecStart").slice(1);
    const pairs = new Set(args.slice(0, -1).map((a, i) => `${a} ${args[i + 1]}`));
    for (const pair of [
      "-name guest=alice,debug-threads=on",
      "-machine q35,accel=kvm",
      "-netdev tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on",
      "-device virtio-net-pci,netdev=net0,mac=52:54:00:1c:ee:db",
      "-qmp unix:/run/qemu-guests/alice/qmp.sock,server=on,wait=off",
      "-m 1024M",
      "-smp 1",
      "-display vnc=127.0.0.1:1",
    ]) {
      expect(pairs, pair).toContain(pair);
    }
    expect(args.join(" ")).toContain("filename=/var/lib/qemu-guests/alice/disk.qcow2");
  });

  it("qemu-guest-alice.service: ExecStartPre grows her image, ExecStop stops her over QMP in 120 s", () => {
    const h = ev.scripted!;
    const unit = h.units["qemu-guest-alice.service"]!;
    const drvs = h.execDrvs["qemu-guest-alice"]!;
    const prepare = program(drvs.startPre, "vmflake-prepare-disk");
    const stop = program(drvs.stop, "vmflake-stop-guest");
    expect(execArgv(unit, "ExecStartPre")).toEqual([
      prepare.exe,
      "/var/lib/qemu-guests/alice/disk.qcow2",
      "42949672960",
    ]);
    expect(execArgv(unit, "ExecStop")).toEqual([
      stop.exe,
      "/run/qemu-guests/alice/qmp.sock",
      "120",
    ]);
    // The programs are the runtime's scripts (writeShellApplication adds a prelude and PATH).
    expectRuntimeScript(prepare, "prepare-disk");
    expectRuntimeScript(stop, "stop-guest");
    expect(stop.text).toMatch(/export PATH=".*-socat-[^/]*\/bin:.*-coreutils-[^/]*\/bin:\$PATH"/);
    expect(prepare.text).toMatch(
      /export PATH=".*-qemu-utils-[^/]*\/bin:.*-jq-[^/]*\/bin:.*-coreutils-[^/]*\/bin:\$PATH"/,
    );
    expect(unitValues(unit, "TimeoutStopSec")).toEqual(["150"]);
    // QEMU is the main process: no unit script wraps it.
    expect(unitValues(unit, "ExecStart")[0]).not.toMatch(/unit-script/);
  });

  it("qemu-guest-alice.service: own user, sandbox, no restart on switch, restart on failure, started at boot", () => {
    const unit = ev.scripted!.units["qemu-guest-alice.service"]!;
    expect(unitValues(unit, "Description")).toEqual(["QEMU guest alice"]);
    expect(unitValues(unit, "Type")).toEqual(["exec"]);
    expect(unitValues(unit, "User")).toEqual(["vm-alice"]);
    expect(unitValues(unit, "Group")).toEqual(["vm-alice"]);
    expect(unitValues(unit, "X-RestartIfChanged")).toEqual(["false"]);
    expect(unitValues(unit, "Restart")).toEqual(["on-failure"]);
    expect(unitValues(unit, "RestartSec")).toEqual(["10"]);
    expect(unitValues(unit, "StartLimitBurst")).toEqual(["3"]);
    expect(unitValues(unit, "StartLimitIntervalSec")).toEqual(["300"]);
    expect(unitValues(unit, "StateDirectory")).toEqual(["qemu-guests/alice"]);
    expect(unitValues(unit, "StateDirectoryMode")).toEqual(["0750"]);
    expect(unitValues(unit, "RuntimeDirectory")).toEqual(["qemu-guests/alice"]);
    expect(unitValues(unit, "RuntimeDirectoryMode")).toEqual(["0750"]);
    for (const [key, values] of HARDENING) expect(unitValues(unit, key), key).toEqual(values);
    expect(unitSection(unit, "Install")).toEqual(["WantedBy=multi-user.target"]);
    const u = ev.scripted!.users["vm-alice"]!;
    expect(u).toEqual({ isSystemUser: true, group: "vm-alice", extraGroups: ["kvm"] });
    expect(ev.scripted!.groups).toEqual(expect.arrayContaining(["vm-alice", "vm-bob"]));
    expect(ev.scripted!.kernelModules).toEqual(expect.arrayContaining(["tun", "vhost_net"]));
    expect(ev.scripted!.sysctl).toEqual({
      "net.bridge.bridge-nf-call-arptables": 0,
      "net.bridge.bridge-nf-call-ip6tables": 0,
      "net.bridge.bridge-nf-call-iptables": 0,
    });
  });

  it("qemu-guest-alice.service: requires its tap's unit and its install, ordered after them and the bridge", () => {
    const unit = ev.scripted!.units["qemu-guest-alice.service"]!;
    expect(space(unitValues(unit, "Requires"))).toEqual([
      "vmflake-tap-tap0.service",
      "qemu-guest-alice-install.service",
    ]);
    expect(space(unitValues(unit, "After"))).toEqual(
      expect.arrayContaining([
        "network.target",
        "vmflake-tap-tap0.service",
        "vbridge0-netdev.service",
        "qemu-guest-alice-install.service",
      ]),
    );
    // Nothing a rebuild may restart is bound to it (the old shape's tap device and -netdev unit).
    for (const k of ["BindsTo", "PartOf", "Requisite"]) {
      expect(unitValues(unit, k), k).toEqual([]);
    }
    // The guest units do not depend on the network backend.
    for (const g of ["alice", "bob"]) {
      expect(ev.networkd!.units[`qemu-guest-${g}.service`]).toBe(
        ev.scripted!.units[`qemu-guest-${g}.service`],
      );
    }
  });

  it("qemu-guest-alice-install.service: the runtime's install program with qemu.nix's installer VM, only while the image is missing", () => {
    const h = ev.scripted!;
    const unit = h.units["qemu-guest-alice-install.service"]!;
    const drvs = h.execDrvs["qemu-guest-alice-install"]!;
    const install = program(drvs.start, "vmflake-install-guest");
    expectRuntimeScript(install, "install-guest");
    const argv = execArgv(unit, "ExecStart");
    const dashes = argv.indexOf("--");
    expect(argv.slice(0, dashes)).toEqual([
      install.exe,
      "--host",
      "study",
      "--guest",
      "alice",
      "--image",
      "/var/lib/qemu-guests/alice/disk.qcow2",
      "--disk-bytes",
      "42949672960",
      "--disk-serial",
      "vmflake-root",
      "--work",
      "/var/lib/qemu-guests/alice/install.tmp",
      "--log",
      "/var/lib/qemu-guests/alice/install.log",
      "--timeout",
      "1800",
      "--token",
      "vmflake-install-opt-in/study",
      "--iso",
      h.installerIso,
      "--flake",
      h.installerFlake,
    ]);
    expect(h.installerIso).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-vmflake-installer-study\.iso\/iso\/vmflake-installer-study\.iso$/,
    );
    expect(h.installerFlake).toMatch(/^\/nix\/store\/[a-z0-9]{32}-vmflake-flake$/);
    expectQemu(h, drvs.start, argv[dashes + 1]!);
    expect(argv.slice(dashes + 2)).toEqual(installQemuArgs([alice])[0]);
    expect(unitValues(unit, "ConditionPathExists")).toEqual([
      "!/var/lib/qemu-guests/alice/disk.qcow2",
    ]);
    expect(space(unitValues(unit, "Requires"))).toEqual(["vmflake-tap-tap0.service"]);
    expect(unitValues(unit, "X-RestartIfChanged")).toEqual(["false"]);
    expect(unitValues(unit, "Type")).toEqual(["oneshot"]);
    expect(unitValues(unit, "TimeoutStartSec")).toEqual(["1930"]);
    expect(unitSection(unit, "Install")).toEqual([]);
    for (const [key, values] of HARDENING) expect(unitValues(unit, key), key).toEqual(values);
  });

  it("vmflake-tap-tap0/tap1.service: the runtime's tap program makes each guest's tap, with both backends", () => {
    expectTapUnit(ev, { guest: "alice", tap: "tap0", mac: alice.mac, bridge: "vbridge0" });
    expectTapUnit(ev, { guest: "bob", tap: "tap1", mac: bob.mac, bridge: "vbridge0" });
  });

  it("scripted: vbridge0 is made with the NIC as its port, bound to no tap, and takes both taps back; the NIC has no address; the bridge uses DHCP", () => {
    const h = ev.scripted!;
    // NixOS's bridge unit makes the bridge with the NIC only (the taps' units attach the taps),
    // and is bound to the NIC's device alone: a missing or removed tap leaves it up.
    expectBridgeBoundToNicOnly(h, "vbridge0", "enp0s31f6");
    // Started again (the NIC came back), it makes the bridge anew: its ExecStartPost makes the
    // taps that exist ports again.
    expectBridgeAttach(h, "vbridge0", ["tap0", "tap1"]);
    // Its reload (a changed unit is reloaded) touches only the listed NIC.
    const reload = unitScript(
      h.networkingUnitDrvs["vbridge0-netdev.service"]!,
      "unit-script-vbridge0-netdev-reload",
    );
    expect(reload.match(/ip link set dev "[^"]+" master/g)).toEqual([
      'ip link set dev "enp0s31f6" master',
    ]);
    expect(unitValues(h.units["vbridge0-netdev.service"]!, "X-ReloadIfChanged")).toEqual(["true"]);
    expect(addressesStartScript(h, "enp0s31f6")).not.toMatch(/ip addr|ip -4 route/);
    expect(addressesStartScript(h, "vbridge0")).not.toMatch(/ip addr|ip -4 route/);
    expect(h.dhcpcdEnabled).toBe(true);
    const denied = dhcpcdDenied(h);
    // The NIC, a bridge port, and the taps (the runtime denies them by name) are left alone.
    expect(denied).toContain("enp0s31f6");
    expect(denied).toEqual(expect.arrayContaining(["tap0", "tap1"]));
    expect(denied).not.toContain("vbridge0");
  });

  it("networkd: the NIC is vbridge0's port in networkd's files, the taps are left to the runtime's units; the bridge uses DHCP", () => {
    const n = ev.networkd!.networkUnits;
    // The runtime's tap units make the taps: networkd creates none.
    const tapNetdevs = Object.entries(n).filter(
      ([f, t]) => f.endsWith(".netdev") && unitValues(t, "Kind").includes("tap"),
    );
    expect(tapNetdevs).toEqual([]);
    expect(unitSection(n["40-vbridge0.netdev"]!, "NetDev")).toEqual([
      "Kind=bridge",
      "Name=vbridge0",
    ]);
    const f = n["40-enp0s31f6.network"]!;
    expect(unitValues(f, "Name")).toEqual(["enp0s31f6"]);
    expect(unitValues(f, "Bridge")).toEqual(["vbridge0"]);
    expect(unitValues(f, "DHCP")).toEqual(["no"]);
    expect(unitValues(f, "Address")).toEqual([]);
    // No .network names a tap: networkd leaves them alone (its default DHCP network matches
    // only interfaces without a kind, and a tap's kind is tun); their units make them ports.
    const bridgePorts = Object.entries(n)
      .filter(([file, t]) => file.endsWith(".network") && unitValues(t, "Bridge").length > 0)
      .map(([, t]) => unitValues(t, "Name"));
    expect(bridgePorts).toEqual([["enp0s31f6"]]);
    for (const tap of ["tap0", "tap1"]) {
      expect(
        Object.entries(n).filter(([, t]) => space(unitValues(t, "Name")).includes(tap)),
        tap,
      ).toEqual([]);
    }
    expect(unitValues(n["99-ethernet-default-dhcp.network"]!, "Kind")).toEqual(["!*"]);
    // No bridge unit with networkd, and the runtime adds none (no ExecStartPost of its own there).
    expect(ev.networkd!.units["vbridge0-netdev.service"]).toBeUndefined();
    expect(unitValues(n["40-vbridge0.network"]!, "DHCP")).toEqual(["yes"]);
    expect(unitValues(n["40-vbridge0.network"]!, "Address")).toEqual([]);
    expect(ev.networkd!.dhcpcdEnabled).toBe(false);
  });

  it("no unit needs a -netdev.service with networkd; with scripted, none of the runtime's units does", () => {
    const units = ev.networkd!.units;
    expect(Object.keys(units).filter((u) => u.endsWith("-netdev.service"))).toEqual([]);
    expect(netdevRequirements(units)).toEqual([]);
    expect(
      netdevRequirements(ev.scripted!.units).filter(
        (l) => l.startsWith("qemu-guest-") || l.startsWith("vmflake-tap-"),
      ),
    ).toEqual([]);
  });
});

describeNixpkgs("real NixOS: host modules of the richer description (lab and rack)", () => {
  const ev: { [backend: string]: { [host: string]: HostResult } } = {};
  const HOSTS = ["lab", "rack"] as const;

  beforeAll(async () => {
    const flake = await buildFlake("rich");
    for (const b of BACKENDS) {
      ev[b] = {};
      for (const host of HOSTS) ev[b][host] = evalHost(flake, host, b);
    }
  }, 1_800_000);

  it("both hosts evaluate with both backends, no failed assertion or warning", () => {
    for (const backend of BACKENDS) {
      for (const host of HOSTS) {
        const h = ev[backend]![host]!;
        expect(h.drvPath).toMatch(
          new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${host}-.*\\.drv$`),
        );
        expect(h.failedAssertions).toEqual([]);
        expect(h.warnings).toEqual([]);
      }
    }
  });

  it("every guest unit runs exactly qemu.nix's command line for its settings", () => {
    const guests: [string, QemuGuest][] = [
      [
        "lab",
        runtimeGuest("database-primary-eu", {
          memoryMiB: 2048,
          cpus: 2,
          tap: defaultTap("database-primary-eu"),
          mac: deriveMac("lab", "database-primary-eu"),
        }),
      ],
      [
        "lab",
        runtimeGuest("web", {
          memoryMiB: 512,
          tap: "vm-web",
          mac: deriveMac("lab", "web"),
          vnc: { display: 3, address: "127.0.0.1" },
        }),
      ],
      [
        "rack",
        runtimeGuest("nightly-builder-arm", {
          memoryMiB: 1024,
          tap: defaultTap("nightly-builder-arm"),
          mac: deriveMac("rack", "nightly-builder-arm"),
        }),
      ],
      [
        "rack",
        runtimeGuest("cache", {
          memoryMiB: 768,
          tap: "tap-cache",
          mac: deriveMac("rack", "cache"),
        }),
      ],
    ];
    const expected = guestQemuArgs(guests.map(([, g]) => g));
    for (const [i, [host, g]] of guests.entries()) {
      const h = ev.scripted![host]!;
      const argv = execArgv(h.units[`qemu-guest-${g.name}.service`]!, "ExecStart");
      expectQemu(h, h.execDrvs[`qemu-guest-${g.name}`]!.start, argv[0]!);
      expect(argv.slice(1), g.name).toEqual(expected[i]);
    }
  });

  it("lab, scripted: static address and gateway on the bridge, its MAC fixed, the NIC bare", () => {
    const h = ev.scripted!.lab!;
    const br = addressesStartScript(h, "br-lan");
    expect(br).toContain('ip addr replace "192.0.2.10/24" dev "br-lan"');
    expect(br).toContain("ip -4 route replace default proto static dev br-lan via 192.0.2.1");
    expect(addressesStartScript(h, "eno1")).not.toMatch(/ip addr|ip -4 route/);
    expect(unitValues(h.networkUnits["40-br-lan.link"]!, "MACAddress")).toEqual([
      "02:00:00:00:0a:01",
    ]);
    const denied = dhcpcdDenied(h);
    expect(denied).toEqual(
      expect.arrayContaining(["br-lan", "eno1", defaultTap("database-primary-eu"), "vm-web"]),
    );
    // The bridge is made with the NIC alone, and takes back the guests' taps.
    expectBridgeBoundToNicOnly(h, "br-lan", "eno1");
    expectBridgeAttach(h, "br-lan", [defaultTap("database-primary-eu"), "vm-web"]);
  });

  it("lab, networkd: static address, gateway and MAC on the bridge's .network, no DHCP, the NIC bare", () => {
    const n = ev.networkd!.lab!.networkUnits;
    const br = n["40-br-lan.network"]!;
    expect(unitValues(br, "Address")).toEqual(["192.0.2.10/24"]);
    expect(unitValues(br, "Gateway")).toEqual(["192.0.2.1"]);
    expect(unitValues(br, "MACAddress")).toEqual(["02:00:00:00:0a:01"]);
    expect(unitValues(br, "DHCP")).toEqual(["no"]);
    expect(unitValues(n["40-eno1.network"]!, "Address")).toEqual([]);
    expect(unitValues(n["40-eno1.network"]!, "Bridge")).toEqual(["br-lan"]);
  });

  it("long guest names get hashed default taps, whose units and bridge ports agree with NixOS's names", () => {
    for (const [host, guest, bridge, multiQueue] of [
      ["lab", "database-primary-eu", "br-lan", true],
      ["rack", "nightly-builder-arm", "vbr0", false],
    ] as const) {
      const tap = defaultTap(guest);
      expect(tap).toMatch(/^vm-[0-9a-f]{8}$/);
      const byBackend = { scripted: ev.scripted![host]!, networkd: ev.networkd![host]! };
      expectTapUnit(byBackend, { guest, tap, mac: deriveMac(host, guest), bridge, multiQueue });
      const s = byBackend.scripted;
      const unit = s.units[`qemu-guest-${guest}.service`]!;
      expect(space(unitValues(unit, "Requires"))).toContain(`vmflake-tap-${tap}.service`);
      // The tap's unit waits for the bridge's device by the name NixOS gives it (its own
      // escaping of "-" as \x2d; the bridge unit is wanted by that device).
      const bridgeUnit = s.units[`${bridge}-netdev.service`]!;
      expect(space(unitValues(bridgeUnit, "WantedBy"))).toContain(netDeviceUnit(bridge));
      expect(space(unitValues(s.units[`vmflake-tap-${tap}.service`]!, "Wants"))).toEqual([
        netDeviceUnit(bridge),
      ]);
      // The bridge is bound to no tap's device, makes no tap a port in its script, and attaches
      // this one after it made the bridge.
      expect(space(unitValues(bridgeUnit, "BindsTo"))).not.toContain(netDeviceUnit(tap));
      expect(netdevStartScript(s, bridge)).not.toContain(`"${tap}"`);
      expect(execArgv(bridgeUnit, "ExecStartPost")).toContain(tap);
      const n = byBackend.networkd.networkUnits;
      expect(n[`40-${tap}.network`]).toBeUndefined();
    }
    expect(netDeviceUnit("br-lan")).toBe("sys-subsystem-net-devices-br\\x2dlan.device");
  });

  it("rack, scripted: the bridge takes back both guests' taps, the one that is not started at boot too", () => {
    const h = ev.scripted!.rack!;
    expectBridgeBoundToNicOnly(h, "vbr0", "enp3s0");
    // A guest not started yet has no tap: attach skips it (test/network/tap-script.test.ts).
    expectBridgeAttach(h, "vbr0", ["tap-cache", defaultTap("nightly-builder-arm")]);
    expect(ev.networkd!.rack!.units["vbr0-netdev.service"]).toBeUndefined();
  });

  it("a guest with autostart false is not wanted by anything; its stop timeout is its own", () => {
    const unit = ev.scripted!.rack!.units["qemu-guest-nightly-builder-arm.service"]!;
    expect(unitSection(unit, "Install")).toEqual([]);
    expect(unitValues(unit, "WantedBy")).toEqual([]);
    expect(execArgv(unit, "ExecStop").slice(1)).toEqual([
      "/run/qemu-guests/nightly-builder-arm/qmp.sock",
      "30",
    ]);
    expect(unitValues(unit, "TimeoutStopSec")).toEqual(["60"]);
    const cache = ev.scripted!.rack!.units["qemu-guest-cache.service"]!;
    expect(unitSection(cache, "Install")).toEqual(["WantedBy=multi-user.target"]);
    expect(space(unitValues(cache, "Requires"))).toContain("vmflake-tap-tap-cache.service");
  });

  it("an offline guest's install: no flake, no tap, and an installer VM without a NIC", () => {
    const h = ev.scripted!.rack!;
    const unit = h.units["qemu-guest-cache-install.service"]!;
    const argv = execArgv(unit, "ExecStart");
    const dashes = argv.indexOf("--");
    expect(argv.slice(0, dashes)).not.toContain("--flake");
    expect(argv[argv.indexOf("--iso") + 1]).toBe(h.installerIso);
    const cache = runtimeGuest(
      "cache",
      { memoryMiB: 768, tap: "tap-cache", mac: deriveMac("rack", "cache") },
      { offline: true },
    );
    expect(argv.slice(dashes + 2)).toEqual(installQemuArgs([cache])[0]);
    expect(argv.slice(dashes + 2).join(" ")).not.toMatch(/-netdev|virtio-net-pci/);
    expect(unitValues(unit, "Requires")).toEqual([]);
    expect(space(unitValues(unit, "After"))).not.toContain("vmflake-tap-tap-cache.service");
    // The guest itself still has its tap.
    const guest = h.units["qemu-guest-cache.service"]!;
    expect(space(unitValues(guest, "Requires"))).toEqual([
      "vmflake-tap-tap-cache.service",
      "qemu-guest-cache-install.service",
    ]);
  });

  it("no unit of either host needs a -netdev.service with networkd, nor a runtime unit with scripted", () => {
    for (const host of HOSTS) {
      expect(netdevRequirements(ev.networkd![host]!.units)).toEqual([]);
      expect(
        netdevRequirements(ev.scripted![host]!.units).filter(
          (l) => l.startsWith("qemu-guest-") || l.startsWith("vmflake-tap-"),
        ),
      ).toEqual([]);
    }
  });
});
