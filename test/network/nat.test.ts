/**
 * NAT and host-only networks with real parts: the host's network is built in a network namespace
 * from the host module evaluated by real Nix (bridges, addresses, the taps made by each tap unit's
 * own ExecStart, the real tap.sh); the DHCP and DNS server is the Debian-packaged dnsmasq, the
 * server `services.dnsmasq` runs, with the settings the module gives it; three TCG guests run
 * their units' exact QEMU command lines as their own users, booting the kit's network guest, and
 * report on their consoles the leases they got and whom they reach.
 *
 * - guest A (two CPUs, so multiqueue): a NIC on the NAT network with a declared lease and one on
 *   the host-only network; guest B: a NIC on the NAT network with a lease picked from its name;
 *   guest C: a NIC on the host-only network only, with a static address and the host as its
 *   gateway.
 * - A and B get their fixed leases by DHCP, resolve each other's names, reach each other, the
 *   host and, through NAT, the stand-in LAN (a second namespace with no route back to the NAT
 *   subnet: only a masqueraded ping comes back). C reaches A's host-only NIC and the host, but
 *   neither the LAN nor the NAT network: the module's FORWARD drop rule counts its packets.
 * - A's two MACs are read back over QMP (HMP `info network`) on the right taps, and its
 *   multi-queue taps are held by QEMU with one descriptor per queue.
 *
 * What stands in for what: a veth pair is the host's NIC and the LAN; NAT itself is NixOS's
 * nat module's rule pair (mark what enters on an internal interface, masquerade it out of the
 * external one), made here from the module's `networking.nat` values, since the stand-in nixpkgs
 * has no nat module (the real NixOS tier evaluates the real one, with both firewall backends);
 * the host-only drop rules are the module's own `networking.firewall.extraCommands`, run as the
 * iptables firewall runs them. QEMU runs under TCG (the kit's wrapper).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import type { ResolvedGuest } from "../../lib/index.ts";
import { cleanupSteps } from "../support/cleanup.ts";
import { tapsHeldBy } from "../support/taps-held.ts";
import { evalJson, flakeOutputs, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { netGuestBootArgs, netReport } from "../support/qemu-kit/net-guest.ts";
import { waitForSocket, waitUntil, type QemuRun } from "../support/qemu-kit/qemu-process.ts";
import { hmp } from "../support/qmp.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import {
  createModuleUsers,
  prepareUnit,
  startQemuAs,
  SYSTEMD_ENV,
} from "./support/guest-as-user.ts";
import { evaluateHostNetwork, writeFlake, type HostNetwork } from "./support/host-network.ts";
import { createNetns, type Netns } from "./support/netns.ts";

const tools = [
  "nix-instantiate",
  "nix-build",
  "ip",
  "bridge",
  "iptables",
  "dnsmasq",
  "setpriv",
  "useradd",
  "userdel",
  "groupadd",
  "groupdel",
  "qemu-system-x86_64",
  "qemu-img",
  "busybox",
  "xz",
];

const HOST = "nathost";
const NIC = "enp0s31f6";
const LAN_PORT = "lan0";
const LAN_BRIDGE = "lan";
/** The host's static address on the LAN bridge, and the stand-in LAN's own. */
const HOST_LAN = "192.168.50.2";
const LAN_ADDRESS = "192.168.50.1";

/** What the module sets beyond what evaluateHostNetwork reads. */
interface Extra {
  addresses: Record<string, { address: string; prefixLength: number }[]>;
  dnsmasq: { enable: boolean; settings: Record<string, string | boolean | string[]> };
  nat: { enable: boolean; internalInterfaces: string[]; externalInterface: string };
  extraCommands: string;
  defaultGateway: { address: string; interface: string };
}

/** dnsmasq.conf as nixpkgs' dnsmasq module writes its settings (keyValue, lists as repeats). */
function dnsmasqConf(settings: Extra["dnsmasq"]["settings"]): string {
  return Object.entries(settings)
    .flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) =>
        x === true ? k : x === false ? `# setting \`${k}\` explicitly set to false` : `${k}=${x}`,
      ),
    )
    .join("\n");
}

describeWith(
  tools,
  "NAT and host-only networks with real dnsmasq and TCG guests in network namespaces",
  () => {
    const suffix = randomBytes(4).toString("hex").slice(0, 7);
    const [A, B, C] = [`na-${suffix}`, `nb-${suffix}`, `nc-${suffix}`];
    const stateRoot = `/var/lib/vmflake-nat-${suffix}`;
    const spec = {
      hosts: {
        [HOST]: {
          lan: {
            nic: NIC,
            bridge: "vbridge0",
            address: { addresses: [`${HOST_LAN}/24`], gateway: LAN_ADDRESS },
          },
          stateDir: stateRoot,
          stateVersion: "26.05",
          networks: {
            nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" },
            lab: { kind: "hostOnly", bridge: "vlab0", address: "10.78.0.1/24" },
          },
          guests: {
            [A]: {
              memory: "256M",
              disk: "1G",
              cpus: 2,
              nics: [{ network: "nat", ipv4: "10.77.0.10" }, { network: "lab" }],
            },
            [B]: { memory: "256M", disk: "1G", nics: [{ network: "nat" }] },
            [C]: { memory: "256M", disk: "1G", nics: [{ network: "lab" }] },
          },
        },
      },
    };

    const cleanup = cleanupSteps("NAT network test");
    let guests: readonly ResolvedGuest[];
    let net: HostNetwork;
    let extra: Extra;
    let hostNs: Netns;
    let lanNs: Netns;
    const qemus = new Map<string, QemuRun>();
    const consoles = new Map<string, string>();
    const reports = new Map<string, string[]>();
    const g = (name: string) => guests.find((x) => x.name === name)!;
    const leaseOf = (name: string) => g(name).nics[0]!.ipv4!;

    function runInNs(ns: Netns, argv: readonly string[]): string {
      const full = [...ns.exec, ...argv];
      const r = spawnSync(full[0]!, full.slice(1), { env: SYSTEMD_ENV, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
      return r.stdout;
    }

    beforeAll(async () => {
      const started = performance.now();
      const scratch = scratchDir("vmflake-nat-");
      cleanup.push(() => removeScratchDir(scratch));
      const flake = join(scratch, "flake");
      guests = writeFlake(spec, flake).hosts[0]!.guests;
      net = evaluateHostNetwork(
        flake,
        HOST,
        guests.map((x) => x.name),
      );
      extra = evalJson<Extra>(`
        let
          outputs = ${flakeOutputs(flake)};
          nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
          c = (nixpkgs.lib.nixosSystem { modules = [ outputs.nixosModules.${HOST} ]; }).config;
        in {
          addresses = builtins.mapAttrs (_: i: i.ipv4.addresses or [ ]) c.networking.interfaces;
          dnsmasq = { inherit (c.services.dnsmasq) enable settings; };
          nat = c.networking.nat;
          inherit (c.networking.firewall) extraCommands;
          inherit (c.networking) defaultGateway;
        }`);

      createModuleUsers(net, cleanup);

      hostNs = createNetns();
      cleanup.push(() => hostNs.remove());
      lanNs = createNetns("-lan");
      cleanup.push(() => lanNs.remove());
      hostNs.ip("link", "add", NIC, "type", "veth", "peer", "name", LAN_PORT, "netns", lanNs.name);
      lanNs.ip("link", "add", "name", LAN_BRIDGE, "type", "bridge");
      lanNs.ip("link", "set", "dev", LAN_PORT, "master", LAN_BRIDGE);
      for (const i of [LAN_PORT, LAN_BRIDGE, "lo"]) lanNs.ip("link", "set", "dev", i, "up");
      // The LAN knows only its own subnet: nothing routes the NAT subnet back to the host.
      lanNs.ip("addr", "add", `${LAN_ADDRESS}/24`, "dev", LAN_BRIDGE);

      // The bridges, as NixOS's networking makes them from the module's values, with their
      // addresses and the default route; then each tap unit's ExecStart.
      hostNs.ip("link", "set", "dev", "lo", "up");
      for (const [bridge, b] of Object.entries(net.bridges)) {
        hostNs.ip("link", "add", "name", bridge, "type", "bridge");
        for (const i of b.interfaces) {
          hostNs.ip("link", "set", "dev", i, "master", bridge);
          hostNs.ip("link", "set", "dev", i, "up");
        }
        hostNs.ip("link", "set", "dev", bridge, "up");
        for (const a of extra.addresses[bridge] ?? []) {
          hostNs.ip("addr", "add", `${a.address}/${a.prefixLength}`, "dev", bridge);
        }
      }
      hostNs.ip("route", "add", "default", "via", extra.defaultGateway.address);
      for (const [name, unit] of Object.entries(net.services)) {
        if (name.startsWith("vmflake-tap-")) runInNs(hostNs, unit.execStart);
      }

      // networking.nat: forwarding, and NixOS's nat rules for its interfaces (see the header).
      expect(extra.nat.enable).toBe(true);
      runInNs(hostNs, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      for (const i of extra.nat.internalInterfaces) {
        runInNs(hostNs, [
          "iptables",
          "-w",
          "-t",
          "nat",
          "-A",
          "PREROUTING",
          "-i",
          i,
          "-j",
          "MARK",
          "--set-mark",
          "1",
        ]);
      }
      runInNs(hostNs, [
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-o",
        extra.nat.externalInterface,
        "-m",
        "mark",
        "--mark",
        "1",
        "-j",
        "MASQUERADE",
      ]);
      // The module's own firewall commands (the host-only drop rules), as the firewall runs them.
      runInNs(hostNs, ["sh", "-e", "-c", extra.extraCommands]);

      // dnsmasq with the module's settings; the test adds only where its state goes, and keeps
      // it from reading the machine's resolv.conf and hosts file.
      expect(extra.dnsmasq.enable).toBe(true);
      const conf = join(scratch, "dnsmasq.conf");
      writeFileSync(
        conf,
        [
          dnsmasqConf(extra.dnsmasq.settings),
          `dhcp-leasefile=${join(scratch, "dnsmasq.leases")}`,
          `pid-file=${join(scratch, "dnsmasq.pid")}`,
          "no-resolv",
          "no-hosts",
          "log-dhcp",
          "",
        ].join("\n"),
      );
      runInNs(hostNs, ["dnsmasq", "--test", "-C", conf]);
      let dnsmasqLog = "";
      const dnsmasq: ChildProcess = spawn(
        hostNs.exec[0]!,
        [...hostNs.exec.slice(1), "dnsmasq", "-k", "--user=root", "--log-facility=-", "-C", conf],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      dnsmasq.stdout!.on("data", (d: Buffer) => (dnsmasqLog += d.toString()));
      dnsmasq.stderr!.on("data", (d: Buffer) => (dnsmasqLog += d.toString()));
      cleanup.push(() => dnsmasq.kill("SIGTERM"));

      const params: Record<string, Record<string, string[]>> = {
        [A]: {
          dhcp: ["eth0"],
          static: ["eth1:10.78.0.10/24"],
          reach: ["10.77.0.1", leaseOf(B), LAN_ADDRESS, "10.78.0.1"],
          resolve: [B],
        },
        [B]: { dhcp: ["eth0"], reach: ["10.77.0.1", "10.77.0.10", LAN_ADDRESS], resolve: [A] },
        [C]: {
          static: ["eth0:10.78.0.11/24"],
          gw: ["10.78.0.1"],
          reach: ["10.78.0.10", "10.78.0.1"],
          unreach: [LAN_ADDRESS, "10.77.0.10"],
        },
      };

      cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));
      for (const x of guests) {
        const unit = net.services[`qemu-guest-${x.name}`]!;
        prepareUnit(unit, cleanup);
        const consoleFile = /logfile=([^,]+)/.exec(
          unit.execStart.find((a) => a.startsWith("socket,id=serial0,"))!,
        )![1]!;
        consoles.set(x.name, consoleFile);
        const run = startQemuAs(hostNs, unit.user!, unit.group!, [
          ...unit.execStart,
          ...netGuestBootArgs(params[x.name]!),
        ]);
        cleanup.push(() => run.kill());
        qemus.set(x.name, run);
      }
      for (const x of guests) {
        const consoleFile = consoles.get(x.name)!;
        await waitUntil(
          `guest ${x.name} reports DONE`,
          () => {
            const q = qemus.get(x.name)!;
            if (!q.running()) throw new Error(`QEMU of ${x.name} exited:\n${q.output()}`);
            return (
              existsSync(consoleFile) &&
              netReport(readFileSync(consoleFile, "utf8")).includes("DONE")
            );
          },
          400_000,
        ).catch((e: unknown) => {
          throw new Error(
            `${String(e)}\nconsole:\n${existsSync(consoleFile) ? readFileSync(consoleFile, "utf8") : ""}\ndnsmasq:\n${dnsmasqLog}`,
          );
        });
        reports.set(x.name, netReport(readFileSync(consoleFile, "utf8")));
      }
      console.info(`NAT test: three guests done in ${Math.round(performance.now() - started)} ms`);
    }, 600_000);

    it("A and B get their fixed leases by DHCP from dnsmasq on the NAT bridge: router and DNS are the host's .1", () => {
      expect(leaseOf(A)).toBe("10.77.0.10");
      expect(leaseOf(B)).toMatch(/^10\.77\.0\.\d+$/);
      expect(reports.get(A)).toContain("LEASE eth0 10.77.0.10 router=10.77.0.1 dns=10.77.0.1");
      expect(reports.get(B)).toContain(`LEASE eth0 ${leaseOf(B)} router=10.77.0.1 dns=10.77.0.1`);
    });

    it("NAT guests resolve each other's names and reach each other, the host and the LAN through NAT", () => {
      expect(reports.get(A)).toContain(`DNS ${B} ${leaseOf(B)}`);
      expect(reports.get(B)).toContain(`DNS ${A} 10.77.0.10`);
      for (const t of ["10.77.0.1", leaseOf(B), LAN_ADDRESS, "10.78.0.1"]) {
        expect(reports.get(A)).toContain(`PING ${t} OK`);
      }
      for (const t of ["10.77.0.1", "10.77.0.10", LAN_ADDRESS]) {
        expect(reports.get(B)).toContain(`PING ${t} OK`);
      }
    });

    it("the host-only guest reaches its peer and the host, but not the LAN nor the NAT network: the FORWARD drop rule counts its packets", () => {
      const c = reports.get(C)!;
      expect(c).toContain("PING 10.78.0.10 OK");
      expect(c).toContain("PING 10.78.0.1 OK");
      expect(c).toContain(`PING ${LAN_ADDRESS} FAIL`);
      expect(c).toContain("PING 10.77.0.10 FAIL");
      const rules = runInNs(hostNs, ["iptables", "-w", "-L", "FORWARD", "-v", "-n", "-x"]);
      const drop = rules.split("\n").find((l) => / DROP /.test(l) && /vlab0\s+!vlab0/.test(l));
      expect(drop, rules).toBeDefined();
      expect(Number(drop!.trim().split(/\s+/)[0])).toBeGreaterThan(0);
    });

    it("A's two NICs: both MACs read back over QMP on the right taps, in the order the guest sees them", async () => {
      const a = g(A);
      const qmpSocket = net.services[`qemu-guest-${A}`]!.execStop[1]!;
      await waitForSocket(qemus.get(A)!, qmpSocket);
      const info = await hmp(qmpSocket, "info network");
      // "virtio-net-pci.0: …,macaddr=<mac>" followed by " \ net0: …,ifname=<tap>,…".
      const pairs = [...info.matchAll(/macaddr=([0-9a-f:]{17})[\s\S]*?ifname=([^,\s]+)/g)].map(
        (m) => [m[1], m[2]],
      );
      expect(pairs).toEqual(a.nics.map((n) => [n.mac, n.tap]));
      expect(reports.get(A)!.filter((l) => l.startsWith("NIC "))).toEqual(
        a.nics.map((n, i) => `NIC eth${i} ${n.mac}`),
      );
    });

    it("multiqueue: A's taps are multi-queue taps, each held by A's QEMU with one descriptor per CPU", () => {
      const a = g(A);
      const held = tapsHeldBy(qemus.get(A)!.pid);
      for (const nic of a.nics) {
        const flags = Number(
          runInNs(hostNs, ["cat", `/sys/class/net/${nic.tap}/tun_flags`]).trim(),
        );
        expect(flags & 0x100, `${nic.tap} IFF_MULTI_QUEUE`).toBe(0x100);
        expect(
          held.filter((t) => t === nic.tap),
          nic.tap,
        ).toHaveLength(a.cpus);
      }
      // B has one CPU: a single-queue tap, one descriptor.
      const b = g(B);
      const flags = Number(runInNs(hostNs, ["cat", `/sys/class/net/${b.tap}/tun_flags`]).trim());
      expect(flags & 0x100).toBe(0);
      expect(tapsHeldBy(qemus.get(B)!.pid).filter((t) => t === b.tap)).toHaveLength(1);
    });
  },
);
