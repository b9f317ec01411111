/**
 * Bridged networking (docs/qemu-and-systemd.md §4), proved with real parts. Two guests with default
 * taps and MACs are emitted as a flake; real Nix evaluates the host module and builds the programs
 * its units run; the module's system users are created; in a network namespace the bridge is
 * built from `networking.bridges.<bridge>.interfaces` (the NIC alone) the way NixOS's scripted
 * backend's bridge unit does, followed by the ExecStartPost the runtime gives that unit; the taps
 * are made, and made ports of the bridge, by running each tap unit's ExecStart (the real tap.sh),
 * ordered after the bridge; and each guest unit's ExecStart runs QEMU as the unit's user on its
 * tap. The bridge is then made again as its unit does when it starts again, and its
 * ExecStartPost takes the running guests' taps back.
 *
 * What stands in for what: a veth pair is the host NIC (its peer is "the LAN", in a second
 * namespace); the stand-in nixpkgs' qemu_kvm is the kit's qemu-tcg wrapper, which replaces KVM by
 * TCG and, on a kernel without vhost-net, `vhost=on` by `vhost=off`. No OS boots: with a blank
 * disk, SeaBIOS runs the virtio-net option ROM (iPXE), whose DHCP requests are the guests' own
 * traffic; QMP's announce-self makes QEMU send frames from a guest's NIC on demand.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import type { ResolvedGuest } from "../../lib/index.ts";
import { waitForSocket, waitUntil, type QemuRun } from "../support/qemu-kit/qemu-process.ts";
import { tapsHeldBy } from "../support/taps-held.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { hmp, qmp } from "../support/qmp.ts";
import { describeWith } from "../support/tools.ts";
import {
  createModuleUsers,
  hasVhostNet,
  prepareUnit,
  startQemuAs,
  SYSTEMD_ENV,
  unitDirectory,
  userImage,
} from "./support/guest-as-user.ts";
import {
  evaluateHostNetwork,
  writeFlake,
  type EvaluatedService,
  type HostNetwork,
} from "./support/host-network.ts";
import {
  attempt,
  createNetns,
  type BridgePort,
  type FdbEntry,
  type IpLink,
  type Netns,
} from "./support/netns.ts";
import { groupId, userIds } from "./support/system-users.ts";
import { cleanupSteps } from "../support/cleanup.ts";

const tools = [
  "nix-instantiate",
  "nix-build",
  "ip",
  "bridge",
  "setpriv",
  "useradd",
  "userdel",
  "groupadd",
  "groupdel",
  "getent",
  "qemu-system-x86_64",
  "qemu-img",
];

const HOST = "nettest";
const NIC = "enp0s31f6";
const NIC_MAC = "00:1f:16:0a:0b:0c";
const BRIDGE = "vbridge0";
/** The veth peer of the NIC, and the bridge it sits on, in the LAN namespace. */
const LAN_PORT = "lan0";
const LAN_BRIDGE = "lan";
/** The bridge's unit (NixOS's scripted backend's `<bridge>-netdev.service`). */
const BRIDGE_UNIT = `${BRIDGE}-netdev`;
/** systemd's device unit of the bridge, which the taps' units want and follow. */
const BRIDGE_DEVICE = `sys-subsystem-net-devices-${BRIDGE}.device`;

/** The value of `flag` in `argv` whose option list starts with `first` (exactly one). */
function flagValues(argv: readonly string[], flag: string, first = ""): string[] {
  return argv.filter((a, i) => argv[i - 1] === flag && a.startsWith(first));
}

describeWith(
  tools,
  "bridged guests in a network namespace, set up from the evaluated host module",
  () => {
    // Random names: other test runs may be creating users on this machine at the same time.
    const suffix = randomBytes(4).toString("hex").slice(0, 7);
    // The first guest has 12 characters, so its tap vm-<name> has exactly 15, the kernel's limit;
    // the second has 29, the most a guest may have (its user vm-<name> has 32), so its tap is the
    // hashed fallback.
    const names = [`nt-a-${suffix}`, `nt-b-with-a-long-name-${suffix}`] as const;
    const stateRoot = `/var/lib/vmflake-net-${suffix}`;
    const spec = {
      hosts: {
        [HOST]: {
          lan: { nic: NIC, bridge: BRIDGE },
          stateDir: stateRoot,
          stateVersion: "26.05",
          guests: Object.fromEntries(names.map((n) => [n, { memory: "256M", disk: "1G" }])),
        },
      },
    };

    /** Clean-up steps, run in reverse order whatever happened. */
    const cleanup = cleanupSteps("network test");
    let guests: readonly ResolvedGuest[];
    let net: HostNetwork;
    let hostNs: Netns;
    let lanNs: Netns;
    const qemus = new Map<string, QemuRun>();

    /** The evaluated unit of guest `g`, by the unit name docs/design.md §6.2 promises. */
    const unitOf = (g: ResolvedGuest): EvaluatedService => net.services[`qemu-guest-${g.name}`]!;
    /** The evaluated unit of the tap of guest `g` (`vmflake-tap-<tap>`, docs/design.md §6.2). */
    const tapUnitOf = (g: ResolvedGuest): EvaluatedService => net.services[`vmflake-tap-${g.tap}`]!;
    /** The QMP socket the guest unit's ExecStop talks to. */
    const qmpSocketOf = (g: ResolvedGuest): string => unitOf(g).execStop[1]!;

    /** Runs a root unit's program (a tap unit has no User=) in `ns` with systemd's environment. */
    function runInNs(ns: Netns, argv: readonly string[]): { stdout: string; stderr: string } {
      const full = [...ns.exec, ...argv];
      const r = spawnSync(full[0]!, full.slice(1), { env: SYSTEMD_ENV, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
      return { stdout: r.stdout, stderr: r.stderr };
    }

    /**
     * What the scripted backend's bridge unit does when it starts (nixpkgs
     * network-interfaces-scripted.nix, createBridgeDevice): delete a bridge of that name, create
     * it, make each listed port a port and up it, up the bridge; then the unit's ExecStartPost.
     */
    function startBridgeUnit(): { stdout: string; stderr: string } {
      for (const [bridge, b] of Object.entries(net.bridges)) {
        if (hostNs.tryIp("link", "show", "dev", bridge).ok) hostNs.ip("link", "del", "dev", bridge);
        hostNs.ip("link", "add", "name", bridge, "type", "bridge");
        for (const i of b.interfaces) {
          hostNs.ip("link", "set", "dev", i, "master", bridge);
          hostNs.ip("link", "set", "dev", i, "up");
        }
        hostNs.ip("link", "set", "dev", bridge, "up");
      }
      return runInNs(hostNs, net.services[BRIDGE_UNIT]!.execStartPost);
    }
    const bridgePorts = () =>
      hostNs
        .ipJson<IpLink[]>("link", "show", "master", BRIDGE)
        .map((l) => l.ifname)
        .sort();
    /** Waits until every port of the bridge forwards; the kernel reports carrier up to 1 s late. */
    const waitForwarding = () =>
      waitUntil(
        "every bridge port forwarding",
        () =>
          hostNs.bridgeJson<BridgePort[]>("link", "show").every((p) => p.state === "forwarding"),
        10_000,
      ).catch(() => undefined);
    /**
     * Both bridges forget guest `g`'s MAC, QEMU announces it from the guest's NIC, and both learn
     * it again: the guest's frames enter the host bridge on its tap and reach the LAN.
     */
    async function expectFramesReachLan(g: ResolvedGuest): Promise<void> {
      attempt("bridge", ["-n", hostNs.name, "fdb", "del", g.mac, "dev", g.tap, "master"]);
      attempt("bridge", ["-n", lanNs.name, "fdb", "del", g.mac, "dev", LAN_PORT, "master"]);
      await qmp(qmpSocketOf(g), "announce-self", {
        initial: 50,
        max: 550,
        rounds: 10,
        step: 50,
      });
      await waitUntil(
        `${g.name}'s MAC learned again by the host bridge and the LAN`,
        () =>
          portOf(learned(hostNs, BRIDGE), g.mac).length > 0 &&
          portOf(learned(lanNs, LAN_BRIDGE), g.mac).length > 0,
        30_000,
      );
      expect(portOf(learned(hostNs, BRIDGE), g.mac)).toEqual([g.tap]);
      expect(portOf(learned(lanNs, LAN_BRIDGE), g.mac)).toEqual([LAN_PORT]);
    }

    const learned = (ns: Netns, bridge: string) =>
      ns.bridgeJson<FdbEntry[]>("fdb", "show", "br", bridge).filter((e) => e.state !== "permanent");
    const portOf = (entries: FdbEntry[], mac: string) =>
      entries.filter((e) => e.mac === mac).map((e) => e.ifname);

    beforeAll(async () => {
      const started = performance.now();
      const scratch = scratchDir("vmflake-net-");
      cleanup.push(() => removeScratchDir(scratch));
      guests = writeFlake(spec, join(scratch, "flake")).hosts[0]!.guests;
      net = evaluateHostNetwork(
        join(scratch, "flake"),
        HOST,
        guests.map((g) => g.name),
      );

      // Users and groups exist before any unit starts (NixOS activation); groups first.
      createModuleUsers(net, cleanup);

      // The host and the LAN; the host's NIC is a veth named as the module's NIC.
      hostNs = createNetns();
      cleanup.push(() => hostNs.remove());
      lanNs = createNetns("-lan");
      cleanup.push(() => lanNs.remove());
      // The NIC is the bridge's one listed port: the taps' units make the taps ports.
      const tapUnits = Object.entries(net.services).filter(([n]) => n.startsWith("vmflake-tap-"));
      expect(Object.values(net.bridges).map((b) => b.interfaces)).toEqual([[NIC]]);
      hostNs.ip("link", "add", NIC, "type", "veth", "peer", "name", LAN_PORT, "netns", lanNs.name);
      // A real NIC has its vendor's MAC; the veth standing in for it gets one of that kind.
      hostNs.ip("link", "set", "dev", NIC, "address", NIC_MAC);
      lanNs.ip("link", "add", "name", LAN_BRIDGE, "type", "bridge");
      lanNs.ip("link", "set", "dev", LAN_PORT, "master", LAN_BRIDGE);
      for (const i of [LAN_PORT, LAN_BRIDGE]) lanNs.ip("link", "set", "dev", i, "up");

      // <bridge>-netdev.service at boot: the bridge with the NIC; its ExecStartPost finds no
      // tap yet (their units come after it) and attaches none.
      const boot = startBridgeUnit();
      expect(boot.stdout).toBe("");
      expect(bridgePorts()).toEqual([NIC]);
      // vmflake-tap-<tap>.service, after the bridge's device and unit: its ExecStart, the real
      // tap.sh, makes the tap and makes it a port of the bridge.
      for (const [, unit] of tapUnits) {
        const up = runInNs(hostNs, unit.execStart);
        expect(up.stdout).toContain(`${unit.execStart[2]} is a port of bridge ${BRIDGE}`);
      }

      // qemu-guest-<name>.service: its StateDirectory/RuntimeDirectory, then its ExecStart as
      // its User=/Group=, on the guest's tap and MAC. The image stands in for the install unit's.
      cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));
      for (const g of guests) {
        const unit = unitOf(g);
        prepareUnit(unit, cleanup);
        const run = startQemuAs(hostNs, unit.user!, unit.group!, unit.execStart);
        cleanup.push(() => run.kill());
        qemus.set(g.name, run);
      }
      // QMP answers once QEMU's main loop runs, i.e. after every backend (the tap) is set up.
      for (const g of guests) {
        await waitForSocket(qemus.get(g.name)!, qmpSocketOf(g));
        await qmp(qmpSocketOf(g), "query-status");
      }
      console.info(
        `network namespace ${hostNs.name}: set up with two guests in ${Math.round(performance.now() - started)} ms` +
          (hasVhostNet
            ? ""
            : " (no /dev/vhost-net on this kernel: vhost=on replaced by vhost=off)"),
      );
    }, 300_000);

    it("the module lists the NIC as the bridge's port; each guest's tap is made and attached by its own unit for the user its QEMU runs as", () => {
      expect(names.map((n) => n.length)).toEqual([12, 29]);
      expect(Object.keys(net.bridges)).toEqual([BRIDGE]);
      // A listed tap would bind the scripted bridge unit to that tap's device.
      expect(net.bridges[BRIDGE]!.interfaces).toEqual([NIC]);
      // The NIC gives up its address to the bridge; a tap is no interface of NixOS's any more.
      expect(net.interfaces).toEqual({ [NIC]: { useDHCP: false }, [BRIDGE]: { useDHCP: true } });
      expect(
        Object.keys(net.services)
          .filter((n) => n.startsWith("vmflake-tap-"))
          .sort(),
      ).toEqual(guests.map((g) => `vmflake-tap-${g.tap}`).sort());
      for (const g of guests) {
        const unit = unitOf(g);
        expect(unit.user).toBe(`vm-${g.name}`);
        expect(unit.group).toBe(unit.user);
        const tapUnit = tapUnitOf(g);
        const [program] = tapUnit.execStart;
        expect(program).toMatch(/-vmflake-tap\/bin\/vmflake-tap$/);
        expect(tapUnit.execStart).toEqual([
          program,
          "up",
          g.tap,
          unit.user,
          // The guest's MAC with a high first byte, so the bridge never takes the tap's.
          `fe${g.mac.slice(2)}`,
          BRIDGE,
        ]);
        expect(tapUnit.execStop).toEqual([program, "down", g.tap]);
        // Made once and kept: a rebuild never restarts it. It makes its tap a port, so it wants
        // the bridge's device and runs after it and after the bridge's unit, bound to neither.
        expect(tapUnit).toMatchObject({
          type: "oneshot",
          remainAfterExit: true,
          restartIfChanged: false,
          user: null,
          wantedBy: ["multi-user.target"],
          wants: [BRIDGE_DEVICE],
          before: [],
          bindsTo: [],
          partOf: [],
          requires: [],
        });
        expect(tapUnit.after).toEqual(
          expect.arrayContaining([BRIDGE_DEVICE, `${BRIDGE}-netdev.service`]),
        );
        expect(net.users[unit.user!]).toEqual({
          isSystemUser: true,
          group: unit.group,
          extraGroups: ["kvm"],
        });
        expect(net.groups).toHaveProperty([unit.group!]);
      }
      const taps = guests.map((g) => g.tap);
      // The bridge's unit takes back every guest's tap (in the order of the guests' names) with
      // the same program, when it makes the bridge again.
      const byName = [...guests].sort((a, b) => (a.name < b.name ? -1 : 1));
      const program = tapUnitOf(guests[0]!).execStart[0];
      expect(net.services[BRIDGE_UNIT]!.execStartPost).toEqual([
        program,
        "attach",
        BRIDGE,
        ...byName.map((g) => g.tap),
      ]);
      expect(new Set(taps).size).toBe(taps.length);
      for (const tap of taps) expect(tap.length).toBeLessThanOrEqual(15);
      // The second name is too long for vm-<name>: its tap is vm- and 8 hex digits.
      expect(taps[0]).toBe(`vm-${names[0]}`);
      expect(taps[1]).toMatch(/^vm-[0-9a-f]{8}$/);
    });

    it("each guest unit runs QEMU on its own tap with its MAC, requiring and ordered after that tap's unit, bound to nothing a rebuild restarts", () => {
      for (const g of guests) {
        const unit = unitOf(g);
        const tapUnit = `vmflake-tap-${g.tap}.service`;
        expect(flagValues(unit.execStart, "-netdev")).toEqual([
          `tap,id=net0,ifname=${g.tap},script=no,downscript=no,vhost=on`,
        ]);
        expect(flagValues(unit.execStart, "-device", "virtio-net-pci")).toEqual([
          `virtio-net-pci,netdev=net0,mac=${g.mac}`,
        ]);
        expect(flagValues(unit.execStart, "-qmp")).toEqual([
          `unix:${qmpSocketOf(g)},server=on,wait=off`,
        ]);
        expect(unit.hasScript).toBe(false);
        expect(unit.requires).toContain(tapUnit);
        expect(unit.after).toEqual(expect.arrayContaining([tapUnit, `${BRIDGE}-netdev.service`]));
        expect(unit.bindsTo).toEqual([]);
        expect(unit.partOf).toEqual([]);
        expect(unit.restartIfChanged).toBe(false);
      }
    });

    it("the NIC stand-in and both taps are forwarding ports of the bridge", async () => {
      const expected = [NIC, ...guests.map((g) => g.tap)].sort();
      expect(bridgePorts()).toEqual(expected);
      // A port forwards once it has carrier.
      await waitForwarding();
      const ports = () => hostNs.bridgeJson<BridgePort[]>("link", "show");
      expect(
        ports()
          .map((p) => [p.ifname, p.master, p.state])
          .sort(),
      ).toEqual(expected.map((i) => [i, BRIDGE, "forwarding"]));
    });

    it("the bridge keeps the NIC's MAC with the taps as ports (the host's DHCP identity)", () => {
      const [bridge] = hostNs.ipJson<{ address: string }[]>("link", "show", "dev", BRIDGE);
      expect(bridge!.address).toBe(NIC_MAC);
    });

    it("each tap belongs to its guest's user and is held open by that guest's QEMU, running as that user", () => {
      const kvm = groupId("kvm");
      for (const g of guests) {
        const user = unitOf(g).user!;
        const [link] = hostNs.ipJson<IpLink[]>("-d", "link", "show", "dev", g.tap);
        expect(link?.linkinfo?.info_kind).toBe("tun");
        expect(link?.linkinfo?.info_data).toMatchObject({ type: "tap", persist: true, user });
        expect(link?.flags).toContain("LOWER_UP"); // a process has the tap open
        expect(link?.address).toBe(`fe${g.mac.slice(2)}`);

        const { pid } = qemus.get(g.name)!;
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const ids = userIds(user);
        const field = (name: string) =>
          new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/).map(Number);
        expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toMatch(/^qemu-system/);
        expect(field("Uid")).toEqual([ids.uid, ids.uid, ids.uid, ids.uid]);
        expect(field("Gid")).toEqual([ids.gid, ids.gid, ids.gid, ids.gid]);
        expect(field("Groups")).toContain(kvm);
        expect(status).toMatch(/^CapEff:\s*0+$/m); // no capabilities left
        expect(tapsHeldBy(pid)).toEqual([g.tap]);
      }
    });

    it("QEMU reports the declared MACs over QMP, and the two guests' MACs differ", async () => {
      for (const g of guests) {
        const filters = (await qmp(qmpSocketOf(g), "query-rx-filter")) as {
          "main-mac": string;
        }[];
        expect(filters.map((f) => f["main-mac"])).toEqual([g.mac]);
        const info = await hmp(qmpSocketOf(g), "info network");
        expect(info).toContain(`macaddr=${g.mac}`);
        expect(info).toMatch(new RegExp(`type=tap,ifname=${g.tap},`));
      }
      expect(guests[0]!.mac).not.toBe(guests[1]!.mac);
      for (const g of guests) expect(g.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    });

    it("each guest's frames enter the bridge on its own tap and leave through the NIC onto the LAN", async () => {
      await waitUntil(
        "both guests' MACs learned by the host bridge and the LAN",
        () =>
          guests.every(
            (g) =>
              portOf(learned(hostNs, BRIDGE), g.mac).length > 0 &&
              portOf(learned(lanNs, LAN_BRIDGE), g.mac).length > 0,
          ),
        30_000,
      );
      for (const g of guests) {
        expect(portOf(learned(hostNs, BRIDGE), g.mac)).toEqual([g.tap]);
        expect(portOf(learned(lanNs, LAN_BRIDGE), g.mac)).toEqual([LAN_PORT]);
      }
    });

    it("starting a tap's unit again while its guest runs (as a rebuild that started it would) keeps the tap and the guest's traffic", async () => {
      for (const g of guests) {
        const user = unitOf(g).user!;
        const [before] = hostNs.ipJson<IpLink[]>("link", "show", "dev", g.tap);
        const again = runInNs(hostNs, tapUnitOf(g).execStart);
        expect(again.stdout).toContain(`reusing the existing tap ${g.tap} of user ${user}`);
        // The same device (a new tap of that name would have a new ifindex and no QEMU on it).
        const [after] = hostNs.ipJson<IpLink[]>("link", "show", "dev", g.tap);
        expect(after!.ifindex).toBe(before!.ifindex);
        expect(after!.master).toBe(BRIDGE);
        expect(after!.flags).toContain("LOWER_UP");
        const run = qemus.get(g.name)!;
        expect(run.running()).toBe(true);
        expect(tapsHeldBy(run.pid)).toEqual([g.tap]);

        // The guest's frames still reach the bridge and the LAN: both forget its MAC, QEMU
        // announces it from the guest's NIC, and both learn it again on the same ports.
        await expectFramesReachLan(g);
      }
    });

    it("the bridge made anew as its unit does when it starts again: its ExecStartPost takes back both running guests' taps, and their frames reach the LAN again", async () => {
      const taps = guests.map((g) => g.tap);
      const before = new Map(
        taps.map((t) => [t, hostNs.ipJson<IpLink[]>("link", "show", "dev", t)[0]!.ifindex]),
      );
      // The bridge goes away (the scripted unit deletes it before making it): the taps stay,
      // the same devices, held by their guests' QEMU, on no bridge.
      hostNs.ip("link", "del", "dev", BRIDGE);
      for (const g of guests) {
        const [link] = hostNs.ipJson<IpLink[]>("link", "show", "dev", g.tap);
        expect(link!.ifindex).toBe(before.get(g.tap));
        expect(link!.master).toBeUndefined();
        expect(qemus.get(g.name)!.running()).toBe(true);
      }
      // Made anew from the listed ports, it has the NIC alone ...
      hostNs.ip("link", "add", "name", BRIDGE, "type", "bridge");
      for (const i of net.bridges[BRIDGE]!.interfaces) {
        hostNs.ip("link", "set", "dev", i, "master", BRIDGE);
        hostNs.ip("link", "set", "dev", i, "up");
      }
      hostNs.ip("link", "set", "dev", BRIDGE, "up");
      expect(bridgePorts()).toEqual([NIC]);
      // ... until the unit's ExecStartPost, the evaluated argv run as root, attaches the taps.
      const post = runInNs(hostNs, net.services[BRIDGE_UNIT]!.execStartPost);
      expect(post.stderr).toBe("");
      expect(post.stdout.trim().split("\n").sort()).toEqual(
        taps.map((t) => `vmflake-tap: ${t} is a port of bridge ${BRIDGE}`).sort(),
      );
      expect(bridgePorts()).toEqual([NIC, ...taps].sort());
      for (const g of guests) {
        const [link] = hostNs.ipJson<IpLink[]>("link", "show", "dev", g.tap);
        expect(link!.ifindex).toBe(before.get(g.tap));
        expect(link!.master).toBe(BRIDGE);
        expect(link!.flags).toContain("LOWER_UP");
        expect(tapsHeldBy(qemus.get(g.name)!.pid)).toEqual([g.tap]);
      }
      // The new bridge keeps the NIC's MAC (the host's DHCP identity) with the taps back.
      expect(hostNs.ipJson<{ address: string }[]>("link", "show", "dev", BRIDGE)[0]!.address).toBe(
        NIC_MAC,
      );
      await waitForwarding();
      expect(
        hostNs
          .bridgeJson<BridgePort[]>("link", "show")
          .map((p) => [p.ifname, p.state])
          .sort(),
      ).toEqual([NIC, ...taps].sort().map((i) => [i, "forwarding"]));
      for (const g of guests) await expectFramesReachLan(g);
      // Run again (the unit started again with the bridge kept), it changes nothing.
      expect(runInNs(hostNs, net.services[BRIDGE_UNIT]!.execStartPost).stdout).toBe("");
      expect(bridgePorts()).toEqual([NIC, ...taps].sort());
    });

    it("a guest's user cannot attach to another guest's tap", async () => {
      const pairs = [
        [guests[0]!, guests[1]!],
        [guests[1]!, guests[0]!],
      ] as const;
      for (const [index, [self, other]] of pairs.entries()) {
        const unit = unitOf(self);
        // The unit's own ExecStart with the other guest's tap, its files in directories of its
        // own (the real guest holds the image lock on its disk).
        const state = join("/var/lib", unit.stateDirectory!);
        const runtime = join("/run", unit.runtimeDirectory!);
        const intruderState = join(stateRoot, `intruder${index}`);
        const intruderRuntime = `/run/qemu-guests/intruder-${suffix}-${index}`;
        for (const dir of [intruderState, intruderRuntime]) {
          unitDirectory(dir, unit.user!, "0750");
          cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
        }
        const argv = unit.execStart.map((a) =>
          a
            .replaceAll(`${state}/`, `${intruderState}/`)
            .replaceAll(`${runtime}/`, `${intruderRuntime}/`)
            .replace(`ifname=${self.tap},`, `ifname=${other.tap},`),
        );
        expect(argv.filter((a) => a.includes(`${state}/`) || a.includes(`${runtime}/`))).toEqual(
          [],
        );
        expect(flagValues(argv, "-netdev")).toEqual([
          `tap,id=net0,ifname=${other.tap},script=no,downscript=no,vhost=on`,
        ]);
        const file = flagValues(argv, "-blockdev", "driver=file,")[0]!;
        userImage(/filename=([^,]+)/.exec(file)![1]!, unit.user!);
        const run = startQemuAs(hostNs, unit.user!, unit.group!, argv);
        cleanup.push(() => run.kill());
        const exit = await Promise.race([
          run.exited,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`QEMU on ${other.tap} kept running`)), 60_000),
          ),
        ]);
        expect(exit.code).not.toBe(0);
        expect(run.output()).toContain(
          `could not configure /dev/net/tun (${other.tap}): Operation not permitted`,
        );
        // The owner's QEMU still holds its tap.
        expect(qemus.get(other.name)!.running()).toBe(true);
      }
    });
  },
  { root: true },
);
