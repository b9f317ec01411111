/**
 * Real NixOS tier: a minimal host importing each emitted nixosModules.<host> is evaluated by the
 * real NixOS module system down to its toplevel .drv, with the scripted network backend and with
 * `networking.useNetworkd = true` (one `nix eval` per flake and backend). The rendered units and
 * networkd files are checked: the guest unit runs exactly what vmflake emitted, is sandboxed and
 * ordered on its tap, and the tap, bridge and NIC come out as intended with both backends.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { defaultTap, netDeviceUnit } from "../../lib/names.ts";
import { prepareDiskScript } from "../../lib/runtime/prepare-disk-script.ts";
import { stopScript } from "../../lib/runtime/stop-script.ts";
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
  readonly execDrvs: {
    readonly [service: string]: {
      readonly start: readonly string[];
      readonly startPre: readonly string[];
      readonly stop: readonly string[];
    };
  };
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

interface HostsEval {
  readonly scriptedListed: boolean;
  readonly hosts: { readonly [host: string]: HostResult };
}

type Backend = "scripted" | "networkd";

function evalHosts(flake: BuiltFlake, hosts: readonly string[], backend: Backend): HostsEval {
  const { result, seconds } = realEval<HostsEval>({
    flakeDir: flake.dir,
    scenario: "hosts",
    hosts,
    networkd: backend === "networkd",
  });
  reportTime(`host eval, ${hosts.join(" + ")}, ${backend} (toplevel .drv and units)`, seconds);
  if (!result.scriptedListed && backend === "scripted") {
    console.warn(
      "note: this nixpkgs' module-list.nix lacks tasks/network-interfaces-scripted.nix; " +
        "real-nixos.nix imports it so that the scripted backend exists at all",
    );
  }
  return result;
}

/** The text of the script a unit-script/writeShellApplication derivation writes. */
function scriptOf(drvs: readonly string[], name: string): { text: string; out: string } {
  const env = drvEnv(drvNamed(drvs, name));
  return { text: env.text!, out: env.out! };
}

/** The words of the one `exec …` command of a unit script (lines joined at `\`). */
function execWords(script: string): string[] {
  const body = script
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#!") && l !== "set -e");
  expect(body).toHaveLength(1);
  return body[0]!.trim().split(/\s+/);
}

/** The `script` of a guest unit as written in the emitted host module (an indented string). */
function emittedScript(moduleFile: string, unit: string): string {
  const text = readFileSync(moduleFile, "utf8");
  const start = text.indexOf(`systemd.services.${unit} = {`);
  expect(start, `${unit} in ${moduleFile}`).toBeGreaterThanOrEqual(0);
  const open = text.indexOf("script = ''\n", start) + "script = ''\n".length;
  const close = text.indexOf("\n    '';", open);
  const lines = text.slice(open, close).split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join("\n");
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
    ["Requires", "Requisite", "BindsTo"].flatMap((k) =>
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

function netdevStartScript(h: HostResult, ifname: string): string {
  return scriptOf(
    h.networkingUnitDrvs[`${ifname}-netdev.service`]!,
    `unit-script-${ifname}-netdev-start`,
  ).text;
}

function addressesStartScript(h: HostResult, ifname: string): string {
  const unit = `network-addresses-${ifname}`;
  return scriptOf(h.networkingUnitDrvs[`${unit}.service`]!, `unit-script-${unit}-start`).text;
}

afterAll(removeBuiltFlakes);

describeNixpkgs("real NixOS: host module of the example (study with alice and bob)", () => {
  let flake: BuiltFlake;
  const ev: { [backend: string]: HostResult } = {};

  beforeAll(async () => {
    flake = await buildFlake("example");
    ev.scripted = evalHosts(flake, ["study"], "scripted").hosts.study!;
    ev.networkd = evalHosts(flake, ["study"], "networkd").hosts.study!;
  }, 900_000);

  it("evaluates to a toplevel .drv with both network backends, no failed assertion or warning", () => {
    for (const backend of ["scripted", "networkd"] as const) {
      const h = ev[backend]!;
      expect(h.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-.*\.drv$/);
      expect(h.useNetworkd).toBe(backend === "networkd");
      expect(h.failedAssertions).toEqual([]);
      expect(h.warnings).toEqual([]);
    }
    expect(ev.scripted!.drvPath).not.toBe(ev.networkd!.drvPath);
  });

  it("qemu-guest-alice.service: ExecStart runs the script that execs qemu-kvm with exactly the emitted args", () => {
    const h = ev.scripted!;
    const unit = h.units["qemu-guest-alice.service"]!;
    const start = scriptOf(
      h.execDrvs["qemu-guest-alice"]!.start,
      "unit-script-qemu-guest-alice-start",
    );
    expect(unitValues(unit, "ExecStart").map((v) => v.trim())).toEqual([
      `${start.out}/bin/qemu-guest-alice-start`,
    ]);
    expect(start.text).toMatch(/^#!\/nix\/store\/[a-z0-9]{32}-bash-[^/]+\/bin\/bash\nset -e\n/);
    const words = execWords(start.text);
    expect(words[0]).toBe("exec");
    expect(words[1]).toMatch(
      /^\/nix\/store\/[a-z0-9]{32}-qemu-host-cpu-only-[^/]+\/bin\/qemu-kvm$/,
    );
    const args = words.slice(2);
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
    // Exactly what the emitted module says, with ${lib.getExe pkgs.qemu_kvm} resolved.
    const emitted = execWords(
      emittedScript(join(flake.dir, "modules", "study.nix"), "qemu-guest-alice"),
    );
    expect(emitted.slice(0, 3)).toEqual(["exec", "${lib.getExe", "pkgs.qemu_kvm}"]);
    expect(args).toEqual(emitted.slice(3));
  });

  it("qemu-guest-alice.service: ExecStartPre grows her image, ExecStop stops her over QMP in 120 s", () => {
    const h = ev.scripted!;
    const unit = h.units["qemu-guest-alice.service"]!;
    const drvs = h.execDrvs["qemu-guest-alice"]!;
    const prepare = scriptOf(drvs.startPre, "vmflake-prepare-disk");
    const stop = scriptOf(drvs.stop, "vmflake-stop-guest");
    expect(unitValues(unit, "ExecStartPre")).toEqual([
      `${prepare.out}/bin/vmflake-prepare-disk /var/lib/qemu-guests/alice/disk.qcow2 42949672960`,
    ]);
    expect(unitValues(unit, "ExecStop")).toEqual([
      `${stop.out}/bin/vmflake-stop-guest /run/qemu-guests/alice/qmp.sock 120`,
    ]);
    // The programs are vmflake's scripts (writeShellApplication adds a prelude and PATH).
    expect(prepare.text).toContain(prepareDiskScript);
    expect(stop.text).toContain(stopScript);
    expect(stop.text).toMatch(/export PATH=".*-socat-[^/]*\/bin:.*-coreutils-[^/]*\/bin:\$PATH"/);
    expect(unitValues(unit, "TimeoutStopSec")).toEqual(["150"]);
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

  it("qemu-guest-alice.service: bound to tap0's device, ordered after the tap and bridge units", () => {
    const unit = ev.scripted!.units["qemu-guest-alice.service"]!;
    expect(unitValues(unit, "BindsTo")).toEqual(["sys-subsystem-net-devices-tap0.device"]);
    expect(space(unitValues(unit, "After"))).toEqual(
      expect.arrayContaining([
        "network.target",
        "sys-subsystem-net-devices-tap0.device",
        "tap0-netdev.service",
        "vbridge0-netdev.service",
      ]),
    );
    expect(unitValues(unit, "PartOf")).toEqual(["tap0-netdev.service"]);
    // The guest units do not depend on the network backend.
    for (const g of ["alice", "bob"]) {
      expect(ev.networkd!.units[`qemu-guest-${g}.service`]).toBe(
        ev.scripted!.units[`qemu-guest-${g}.service`],
      );
    }
  });

  it("scripted: tap0-netdev creates tap0 owned by vm-alice, the unit alice binds to", () => {
    const h = ev.scripted!;
    for (const [tap, user] of [
      ["tap0", "vm-alice"],
      ["tap1", "vm-bob"],
    ] as const) {
      expect(netdevStartScript(h, tap)).toContain(
        `ip tuntap add dev "${tap}" mode "tap" user "${user}"`,
      );
      const netdev = h.units[`${tap}-netdev.service`]!;
      expect(space(unitValues(netdev, "WantedBy"))).toContain(netDeviceUnit(tap));
    }
  });

  it("scripted: vbridge0 has the NIC and both taps as ports; the NIC has no address; the bridge uses DHCP", () => {
    const h = ev.scripted!;
    const bridge = netdevStartScript(h, "vbridge0");
    expect(bridge).toContain('ip link add name "vbridge0" type bridge');
    for (const port of ["enp0s31f6", "tap0", "tap1"]) {
      expect(bridge).toContain(`ip link set dev "${port}" master "vbridge0"`);
    }
    expect(space(unitValues(h.units["vbridge0-netdev.service"]!, "BindsTo"))).toEqual(
      expect.arrayContaining(["tap0-netdev.service", "tap1-netdev.service"]),
    );
    expect(addressesStartScript(h, "enp0s31f6")).not.toMatch(/ip addr|ip -4 route/);
    expect(addressesStartScript(h, "vbridge0")).not.toMatch(/ip addr|ip -4 route/);
    expect(h.dhcpcdEnabled).toBe(true);
    const denied = dhcpcdDenied(h);
    expect(denied).toEqual(expect.arrayContaining(["enp0s31f6", "tap0", "tap1"]));
    expect(denied).not.toContain("vbridge0");
  });

  it("networkd: tap0 is a tap netdev owned by vm-alice, enslaved with the NIC to vbridge0, which uses DHCP", () => {
    const n = ev.networkd!.networkUnits;
    expect(unitSection(n["40-tap0.netdev"]!, "NetDev")).toEqual(["Kind=tap", "Name=tap0"]);
    expect(unitSection(n["40-tap0.netdev"]!, "Tap")).toEqual(["User=vm-alice"]);
    expect(unitSection(n["40-tap1.netdev"]!, "Tap")).toEqual(["User=vm-bob"]);
    expect(unitSection(n["40-vbridge0.netdev"]!, "NetDev")).toEqual([
      "Kind=bridge",
      "Name=vbridge0",
    ]);
    for (const port of ["enp0s31f6", "tap0", "tap1"]) {
      const f = n[`40-${port}.network`]!;
      expect(unitValues(f, "Name")).toEqual([port]);
      expect(unitValues(f, "Bridge")).toEqual(["vbridge0"]);
      expect(unitValues(f, "DHCP")).toEqual(["no"]);
      expect(unitValues(f, "Address")).toEqual([]);
    }
    expect(unitValues(n["40-vbridge0.network"]!, "DHCP")).toEqual(["yes"]);
    expect(unitValues(n["40-vbridge0.network"]!, "Address")).toEqual([]);
    expect(ev.networkd!.dhcpcdEnabled).toBe(false);
  });

  it("networkd: no unit requires a -netdev.service (they do not exist with networkd)", () => {
    const units = ev.networkd!.units;
    expect(Object.keys(units).filter((u) => u.endsWith("-netdev.service"))).toEqual([]);
    expect(netdevRequirements(units)).toEqual([]);
    // With the scripted backend only NixOS's own units bind to them (the bridge to its taps).
    expect(
      netdevRequirements(ev.scripted!.units).filter((l) => l.startsWith("qemu-guest-")),
    ).toEqual([]);
  });
});

describeNixpkgs("real NixOS: host modules of the richer description (lab and rack)", () => {
  const ev: { [backend: string]: { [host: string]: HostResult } } = {};

  beforeAll(async () => {
    const flake = await buildFlake("rich");
    ev.scripted = evalHosts(flake, ["lab", "rack"], "scripted").hosts;
    ev.networkd = evalHosts(flake, ["lab", "rack"], "networkd").hosts;
  }, 900_000);

  it("both hosts evaluate with both backends, no failed assertion or warning", () => {
    for (const backend of ["scripted", "networkd"] as const) {
      for (const host of ["lab", "rack"]) {
        const h = ev[backend]![host]!;
        expect(h.drvPath).toMatch(
          new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${host}-.*\\.drv$`),
        );
        expect(h.failedAssertions).toEqual([]);
        expect(h.warnings).toEqual([]);
      }
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

  it("long guest names get hashed default taps whose units agree with NixOS's own names", () => {
    for (const [host, guest] of [
      ["lab", "database-primary-eu"],
      ["rack", "nightly-builder-arm"],
    ] as const) {
      const tap = defaultTap(guest);
      expect(tap).toMatch(/^vm-[0-9a-f]{8}$/);
      const s = ev.scripted![host]!;
      const unit = s.units[`qemu-guest-${guest}.service`]!;
      expect(unitValues(unit, "BindsTo")).toEqual([netDeviceUnit(tap)]);
      expect(unitValues(unit, "PartOf")).toEqual([`${tap}-netdev.service`]);
      // NixOS names the same device unit (its own escaping of "-" as \x2d).
      expect(space(unitValues(s.units[`${tap}-netdev.service`]!, "WantedBy"))).toContain(
        netDeviceUnit(tap),
      );
      expect(netdevStartScript(s, tap)).toContain(
        `ip tuntap add dev "${tap}" mode "tap" user "vm-${guest}"`,
      );
      const n = ev.networkd![host]!.networkUnits;
      expect(unitSection(n[`40-${tap}.netdev`]!, "Tap")).toEqual([`User=vm-${guest}`]);
    }
  });

  it("a guest with autostart false is not wanted by anything; its stop timeout is its own", () => {
    const unit = ev.scripted!.rack!.units["qemu-guest-nightly-builder-arm.service"]!;
    expect(unitSection(unit, "Install")).toEqual([]);
    expect(unitValues(unit, "WantedBy")).toEqual([]);
    expect(unitValues(unit, "ExecStop")[0]).toMatch(
      / \/run\/qemu-guests\/nightly-builder-arm\/qmp\.sock 30$/,
    );
    expect(unitValues(unit, "TimeoutStopSec")).toEqual(["60"]);
    const cache = ev.scripted!.rack!.units["qemu-guest-cache.service"]!;
    expect(unitSection(cache, "Install")).toEqual(["WantedBy=multi-user.target"]);
    expect(unitValues(cache, "BindsTo")).toEqual([netDeviceUnit("tap-cache")]);
  });

  it("networkd: no unit of either host requires a -netdev.service", () => {
    for (const host of ["lab", "rack"]) {
      expect(netdevRequirements(ev.networkd![host]!.units)).toEqual([]);
    }
  });
});
