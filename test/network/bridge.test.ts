/**
 * Bridged networking (docs/qemu-and-systemd.md §4), proved with real parts. Two guests with default
 * taps and MACs are emitted as a flake; real Nix evaluates the host module; a network namespace
 * gets the bridge and taps the way NixOS's scripted backend builds them from those evaluated
 * values; the module's system users are created; and two QEMUs run as those users on their taps.
 *
 * What stands in for what: a veth pair is the host NIC (its peer is "the LAN", in a second
 * namespace); the kit's qemu-tcg wrapper replaces KVM by TCG; on a kernel without vhost-net
 * `vhost=on` becomes `vhost=off` (see guest-as-user.ts). No OS boots: with a blank disk, SeaBIOS
 * runs the virtio-net option ROM (iPXE), whose DHCP requests are the guests' only traffic.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { ResolvedGuest } from "../../lib/index.ts";
import { qemuArgs, type QemuGuestRuntime } from "../../lib/runtime/qemu-args.ts";
import { waitForSocket, waitUntil, type QemuRun } from "../support/qemu-kit/qemu-process.ts";
import { removeScratchDir, scratchDir } from "../support/qemu-kit/scratch-dir.ts";
import { describeWith } from "../support/tools.ts";
import {
  hasVhostNet,
  installWrapper,
  startQemuAs,
  userDir,
  userImage,
  withVhostOfThisMachine,
} from "./support/guest-as-user.ts";
import { evaluateHostNetwork, writeFlake, type HostNetwork } from "./support/host-network.ts";
import {
  createNetns,
  type BridgePort,
  type FdbEntry,
  type IpLink,
  type Netns,
} from "./support/netns.ts";
import { hmp, qmp } from "./support/qmp.ts";
import {
  addSystemGroup,
  addSystemUser,
  groupId,
  removeSystemGroup,
  removeSystemUser,
  userIds,
} from "./support/system-users.ts";

const tools = [
  "nix-instantiate",
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

/** The names NixOS's scripted backend gives a net device's units (only [a-z0-9-] names here). */
const deviceUnit = (ifname: string): string =>
  `sys-subsystem-net-devices-${ifname.replaceAll("-", "\\x2d")}.device`;

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
    const spec = {
      hosts: {
        [HOST]: {
          lan: { nic: NIC, bridge: BRIDGE },
          stateVersion: "26.05",
          guests: Object.fromEntries(names.map((n) => [n, { memory: "256M", disk: "1G" }])),
        },
      },
    };

    /** Clean-up steps, run in reverse order whatever happened. */
    const cleanup: (() => unknown)[] = [];
    let scratch: string;
    let wrapper: string;
    let guests: readonly ResolvedGuest[];
    let net: HostNetwork;
    let hostNs: Netns;
    let lanNs: Netns;
    const qemus = new Map<string, { run: QemuRun; runtime: QemuGuestRuntime }>();

    /** The runtime of guest `g` with its files in `dir` and the given tap. */
    function runtimeIn(dir: string, g: ResolvedGuest, tap = g.tap): QemuGuestRuntime {
      return {
        name: g.name,
        cpus: g.cpus,
        memoryMiB: g.memoryMiB,
        imagePath: join(dir, "disk.qcow2"),
        diskSerial: g.diskSerial,
        qmpSocket: join(dir, "qmp.sock"),
        serialLog: join(dir, "console.log"),
        net: { tap, mac: g.mac },
      };
    }

    /** The evaluated unit of guest `g`, by the unit name docs/design.md §6.2 promises. */
    const unitOf = (g: ResolvedGuest) => net.services[`qemu-guest-${g.name}`]!;

    beforeAll(async () => {
      const started = performance.now();
      scratch = scratchDir("vmflake-net-");
      cleanup.push(() => removeScratchDir(scratch));
      chmodSync(scratch, 0o711); // the guest users traverse it to reach their own directories
      guests = writeFlake(spec, join(scratch, "flake")).hosts[0]!.guests;
      net = evaluateHostNetwork(join(scratch, "flake"), HOST);

      // Users and groups exist before any unit starts (NixOS activation); groups first.
      for (const group of Object.keys(net.groups)) {
        addSystemGroup(group);
        cleanup.push(() => removeSystemGroup(group));
      }
      for (const [user, u] of Object.entries(net.users)) {
        addSystemUser(user, u.group ?? user, u.extraGroups ?? []);
        cleanup.push(() => removeSystemUser(user));
      }

      // The host and the LAN; the host's NIC is a veth named as the module's NIC.
      hostNs = createNetns();
      cleanup.push(() => hostNs.remove());
      lanNs = createNetns("-lan");
      cleanup.push(() => lanNs.remove());
      // The NIC is the module's one interface that is neither virtual (a tap) nor a bridge.
      const nics = Object.entries(net.interfaces)
        .filter(([name, i]) => i.virtual !== true && !(name in net.bridges))
        .map(([name]) => name);
      expect(nics).toEqual([NIC]);
      hostNs.ip("link", "add", NIC, "type", "veth", "peer", "name", LAN_PORT, "netns", lanNs.name);
      // A real NIC has its vendor's MAC; the veth standing in for it gets one of that kind.
      hostNs.ip("link", "set", "dev", NIC, "address", NIC_MAC);
      lanNs.ip("link", "add", "name", LAN_BRIDGE, "type", "bridge");
      lanNs.ip("link", "set", "dev", LAN_PORT, "master", LAN_BRIDGE);
      for (const i of [LAN_PORT, LAN_BRIDGE]) lanNs.ip("link", "set", "dev", i, "up");

      // <tap>-netdev.service (nixpkgs network-interfaces-scripted.nix, createTunDevice).
      for (const [name, i] of Object.entries(net.interfaces)) {
        if (i.virtual !== true) continue;
        hostNs.ip(
          "tuntap",
          "add",
          "dev",
          name,
          "mode",
          String(i.virtualType),
          "user",
          String(i.virtualOwner),
        );
        // network-link-<name>.service sets the interface's declared MAC.
        if (typeof i.macAddress === "string") {
          hostNs.ip("link", "set", "dev", name, "address", i.macAddress);
        }
      }
      // <bridge>-netdev.service (createBridgeDevice): create, enslave and up each port, then up.
      for (const [bridge, b] of Object.entries(net.bridges)) {
        hostNs.ip("link", "add", "name", bridge, "type", "bridge");
        for (const i of b.interfaces) {
          hostNs.ip("link", "set", "dev", i, "master", bridge);
          hostNs.ip("link", "set", "dev", i, "up");
        }
        hostNs.ip("link", "set", "dev", bridge, "up");
      }

      // qemu-guest-<name>.service: QEMU as the unit's User=/Group=, on the guest's tap and MAC.
      wrapper = installWrapper(scratch);
      guests.forEach((g, index) => {
        const unit = unitOf(g);
        const runtime = runtimeIn(userDir(scratch, `g${index}`, unit.user!), g);
        userImage(runtime.imagePath, unit.user!);
        const args = withVhostOfThisMachine(qemuArgs(runtime));
        const run = startQemuAs(hostNs, unit.user!, unit.group!, wrapper, args);
        cleanup.push(() => run.kill());
        qemus.set(g.name, { run, runtime });
      });
      // QMP answers once QEMU's main loop runs, i.e. after every backend (the tap) is set up.
      for (const { run, runtime } of qemus.values()) {
        await waitForSocket(run, runtime.qmpSocket);
        await qmp(runtime.qmpSocket, "query-status");
      }
      console.info(
        `network namespace ${hostNs.name}: set up with two guests in ${Math.round(performance.now() - started)} ms` +
          (hasVhostNet
            ? ""
            : " (no /dev/vhost-net on this kernel: vhost=on replaced by vhost=off)"),
      );
    });

    afterAll(async () => {
      const errors: unknown[] = [];
      for (const step of cleanup.reverse()) {
        try {
          await step();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, "network test clean-up failed");
    });

    it("the module puts the NIC and every guest's tap on the bridge, each tap owned by the user its QEMU runs as", () => {
      expect(names.map((n) => n.length)).toEqual([12, 29]);
      expect(Object.keys(net.bridges)).toEqual([BRIDGE]);
      expect(net.bridges[BRIDGE]!.interfaces).toEqual([NIC, ...guests.map((g) => g.tap)]);
      expect(net.interfaces[NIC]).toEqual({ useDHCP: false });
      expect(net.interfaces[BRIDGE]).toEqual({ useDHCP: true });
      for (const g of guests) {
        const unit = unitOf(g);
        expect(unit.user).toBe(`vm-${g.name}`);
        expect(unit.group).toBe(unit.user);
        expect(net.interfaces[g.tap]).toEqual({
          virtual: true,
          virtualType: "tap",
          virtualOwner: unit.user,
          // The guest's MAC with a high first byte, so the bridge never takes the tap's.
          macAddress: `fe${g.mac.slice(2)}`,
        });
        expect(net.users[unit.user!]).toEqual({
          isSystemUser: true,
          group: unit.group,
          extraGroups: ["kvm"],
        });
        expect(net.groups).toHaveProperty([unit.group!]);
      }
      const taps = guests.map((g) => g.tap);
      expect(new Set(taps).size).toBe(taps.length);
      for (const tap of taps) expect(tap.length).toBeLessThanOrEqual(15);
      // The second name is too long for vm-<name>: its tap is vm- and 8 hex digits.
      expect(taps[0]).toBe(`vm-${names[0]}`);
      expect(taps[1]).toMatch(/^vm-[0-9a-f]{8}$/);
    });

    it("each guest unit runs QEMU on its own tap with its MAC, bound to and ordered after that tap", () => {
      for (const g of guests) {
        const unit = unitOf(g);
        const netdevs = [...unit.script.matchAll(/-netdev (\S+)/g)].map((m) => m[1]);
        const nics = [...unit.script.matchAll(/-device (virtio-net-pci\S*)/g)].map((m) => m[1]);
        expect(netdevs).toEqual([`tap,id=net0,ifname=${g.tap},script=no,downscript=no,vhost=on`]);
        expect(nics).toEqual([`virtio-net-pci,netdev=net0,mac=${g.mac}`]);
        expect(unit.bindsTo).toEqual([deviceUnit(g.tap)]);
        expect(unit.after).toEqual(
          expect.arrayContaining([
            deviceUnit(g.tap),
            `${g.tap}-netdev.service`,
            `${BRIDGE}-netdev.service`,
          ]),
        );
        expect(unit.partOf).toEqual([`${g.tap}-netdev.service`]);
      }
    });

    it("the NIC stand-in and both taps are forwarding ports of the bridge", async () => {
      const expected = [NIC, ...guests.map((g) => g.tap)].sort();
      const members = hostNs.ipJson<IpLink[]>("link", "show", "master", BRIDGE);
      expect(members.map((l) => l.ifname).sort()).toEqual(expected);
      // A port forwards once it has carrier; the kernel's link watch reports carrier up to 1 s late.
      const ports = () => hostNs.bridgeJson<BridgePort[]>("link", "show");
      await waitUntil(
        "every bridge port forwarding",
        () => ports().every((p) => p.state === "forwarding"),
        10_000,
      ).catch(() => undefined);
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

        const { pid } = qemus.get(g.name)!.run;
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const ids = userIds(user);
        const field = (name: string) =>
          new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/).map(Number);
        expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toMatch(/^qemu-system/);
        expect(field("Uid")).toEqual([ids.uid, ids.uid, ids.uid, ids.uid]);
        expect(field("Gid")).toEqual([ids.gid, ids.gid, ids.gid, ids.gid]);
        expect(field("Groups")).toContain(kvm);
        expect(status).toMatch(/^CapEff:\s*0+$/m); // no capabilities left

        // The kernel's own record of which tap each of QEMU's tun file descriptors is bound to.
        const tapsHeld = readdirSync(`/proc/${pid}/fdinfo`)
          .map((fd) => /^iff:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8")))
          .flatMap((m) => (m ? [m[1]] : []));
        expect(tapsHeld).toEqual([g.tap]);
      }
    });

    it("QEMU reports the declared MACs over QMP, and the two guests' MACs differ", async () => {
      for (const g of guests) {
        const { runtime } = qemus.get(g.name)!;
        const filters = (await qmp(runtime.qmpSocket, "query-rx-filter")) as {
          "main-mac": string;
        }[];
        expect(filters.map((f) => f["main-mac"])).toEqual([g.mac]);
        const info = await hmp(runtime.qmpSocket, "info network");
        expect(info).toContain(`macaddr=${g.mac}`);
        expect(info).toMatch(new RegExp(`type=tap,ifname=${g.tap},`));
      }
      expect(guests[0]!.mac).not.toBe(guests[1]!.mac);
      for (const g of guests) expect(g.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    });

    it("each guest's frames enter the bridge on its own tap and leave through the NIC onto the LAN", async () => {
      const learned = (ns: Netns, bridge: string) =>
        ns
          .bridgeJson<FdbEntry[]>("fdb", "show", "br", bridge)
          .filter((e) => e.state !== "permanent");
      const portOf = (entries: FdbEntry[], mac: string) =>
        entries.filter((e) => e.mac === mac).map((e) => e.ifname);
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

    it("a guest's user cannot attach to another guest's tap", async () => {
      const pairs = [
        [guests[0]!, guests[1]!],
        [guests[1]!, guests[0]!],
      ] as const;
      for (const [index, [self, other]] of pairs.entries()) {
        const unit = unitOf(self);
        const runtime = runtimeIn(
          userDir(scratch, `intruder${index}`, unit.user!),
          self,
          other.tap,
        );
        userImage(runtime.imagePath, unit.user!);
        const args = withVhostOfThisMachine(qemuArgs(runtime));
        const run = startQemuAs(hostNs, unit.user!, unit.group!, wrapper, args);
        cleanup.push(() => run.kill());
        const exit = await Promise.race([
          run.exited,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`QEMU on ${other.tap} kept running`)), 30_000),
          ),
        ]);
        expect(exit.code).not.toBe(0);
        expect(run.output()).toContain(
          `could not configure /dev/net/tun (${other.tap}): Operation not permitted`,
        );
        // The owner's QEMU still holds its tap.
        expect(qemus.get(other.name)!.run.running()).toBe(true);
      }
    });
  },
  { root: true },
);
