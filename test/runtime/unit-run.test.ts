/**
 * A guest unit run the way systemd runs it, from the EMITTED module: build.ts writes the flake,
 * Nix evaluates the host module (stand-in nixpkgs) and builds the programs its units name
 * (writeShellApplication runs shellcheck on each), and the test then does what systemd would do
 * with the evaluated units: it creates the guest's system user and group from `users.users` /
 * `users.groups`, its StateDirectory/RuntimeDirectory with the unit's owner and modes, and runs,
 * each from its argv in the unit's `serviceConfig` (parseExecLine), with systemd's environment:
 * the tap unit's ExecStart as root in a network namespace of the test's own (the real tap.sh
 * program), the guest unit's ExecStartPre (grow), ExecStart (QEMU) and ExecStop (with MAINPID)
 * as the guest's unprivileged user in that namespace, then the tap unit's ExecStop.
 *
 * The only stand-ins: the stand-in nixpkgs' `qemu_kvm` is test/support/qemu-kit/qemu-tcg (TCG
 * for KVM, vhost off where /dev/vhost-net is missing), which appends the kit's tiny kernel from
 * $QEMU_TCG_EXTRA_ARGS; and the systemd sandbox settings are not applied.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { tapsHeldBy } from "../support/taps-held.ts";
import {
  build as nixBuild,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { kitMarkers } from "../support/qemu-kit/guest-init.ts";
import { kitGuest } from "../support/qemu-kit/guest.ts";
import { waitUntil, warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { cleanupSteps } from "../support/cleanup.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { createNetns, type IpLink, type Netns } from "../network/support/netns.ts";
import {
  addSystemGroup,
  addSystemUser,
  removeSystemGroup,
  removeSystemUser,
  userIds,
} from "../network/support/system-users.ts";

/** The `systemd.services.<name>` values this test runs or checks. */
interface EvaluatedUnit {
  requires: string[];
  after: string[];
  restartIfChanged: boolean;
  serviceConfig: {
    Type: string;
    RemainAfterExit?: boolean;
    User?: string;
    Group?: string;
    StateDirectory?: string;
    StateDirectoryMode?: string;
    RuntimeDirectory?: string;
    RuntimeDirectoryMode?: string;
    TimeoutStopSec?: number;
    ExecStartPre?: string;
    ExecStart: string;
    ExecStop: string;
  };
}

interface Evaluated {
  services: Record<string, EvaluatedUnit>;
  users: Record<string, { isSystemUser: boolean; group: string; extraGroups: string[] }>;
  groups: Record<string, unknown>;
  bridges: Record<string, { interfaces: string[] }>;
}

/** One guest's units and what the test derives from them. */
interface Guest {
  unit: EvaluatedUnit;
  tapUnitName: string;
  tapUnit: EvaluatedUnit;
  user: string;
  group: string;
  /** The argv of each Exec line. */
  pre: string[];
  start: string[];
  stop: string[];
  tapUp: string[];
  tapDown: string[];
  tap: string;
  image: string;
  diskBytes: number;
  qmpSocket: string;
  stopTimeout: number;
  consoleLog: string;
}

/**
 * The environment systemd gives a system service (systemd's compiled-in PATH), so the programs
 * cannot lean on the test's own; MAINPID and the kit's boot arguments are added where they apply.
 */
const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const unitEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: SYSTEMD_PATH,
  ...extra,
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv asynchronously: the test process is QEMU's parent and must keep reaping it while a
 * stop program polls MAINPID, as systemd does (a zombie would still answer kill -0).
 */
function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** The virtual size of a qcow2 image, by the real qemu-img. */
function virtualSize(image: string): number {
  const info = JSON.parse(sh("qemu-img", ["info", "-f", "qcow2", "--output=json", image])) as {
    "virtual-size": number;
  };
  return info["virtual-size"];
}

/** The one value of `flag` in `argv` whose option list starts with `first`. */
function flagValue(argv: readonly string[], flag: string, first: string): string {
  const found = argv.filter((a, i) => argv[i - 1] === flag && a.startsWith(first));
  if (found.length !== 1) throw new Error(`expected one ${flag} ${first}… in ${argv.join(" ")}`);
  return found[0]!;
}

const TOOLS = [
  ...qemuKitTools,
  "nix-instantiate",
  "nix-build",
  "socat",
  "jq",
  "ip",
  "setpriv",
  "useradd",
  "groupadd",
  "getent",
];

describeWith(
  TOOLS,
  "a guest unit from the emitted module, run as systemd would",
  () => {
    const id = randomBytes(3).toString("hex");
    const stateRoot = `/var/lib/vmflake-unit-${id}`;
    const names = { acpi: `alice-${id}`, deaf: `bob-${id}` } as const;
    const shutdownTimeout = { acpi: 60, deaf: 3 } as const;
    const dir = tempDir();
    const guests: Record<string, Guest> = {};
    const cleanup = cleanupSteps("unit test");
    let ns: Netns;
    let bridge: string;

    beforeAll(async () => {
      chmodSync(dir, 0o755); // the flake's files are read by Nix; nothing here is the users'
      const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
      const hosts = join(dir, "hosts.ts");
      writeFileSync(
        hosts,
        `import { defineHosts } from ${lib};
export default defineHosts({ hosts: { testhost: {
  lan: { nic: "eth0", bridge: "br0" },
  stateDir: ${JSON.stringify(stateRoot)},
  stateVersion: "26.05",
  guests: {
    ${JSON.stringify(names.acpi)}: { memory: "256M", disk: "1G", shutdownTimeout: ${shutdownTimeout.acpi} },
    ${JSON.stringify(names.deaf)}: { memory: "256M", disk: "1G", shutdownTimeout: ${shutdownTimeout.deaf} },
  },
} } });
`,
      );
      const out = join(dir, "flake");
      const r = await build(["--hosts", hosts, "--out", out, "--no-typecheck"]);
      expect(r.stderr).toBe("");

      const prelude = `
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
        c = (nixpkgs.lib.nixosSystem { modules = [ (${flakeOutputs(out)}).nixosModules.testhost ]; }).config;
        # The guests' units and the taps' units (the install units are another test's).
        units = builtins.filter (n: builtins.substring 0 12 n == "vmflake-tap-") (builtins.attrNames c.systemd.services)
          ++ map (g: "qemu-guest-" + g) ${nixList(Object.values(names))};`;
      const evaluated = evalJson<Evaluated>(`
        let ${prelude}
        in {
          services = builtins.listToAttrs (map (n: let s = c.systemd.services.\${n}; in {
            name = n;
            value = {
              inherit (s) serviceConfig;
              requires = s.requires or [ ];
              after = s.after or [ ];
              restartIfChanged = s.restartIfChanged or true;
            };
          }) units);
          inherit (c.users) users groups;
          inherit (c.networking) bridges;
        }`);
      // Realise every store path the units name (the programs and the QEMU stand-in): building
      // them runs shellcheck on each script, as nixpkgs' writeShellApplication does.
      nixBuild(`
        let ${prelude}
          sc = n: c.systemd.services.\${n}.serviceConfig;
        in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-deps" {
          lines = map (n: (sc n).ExecStart + " " + (sc n).ExecStop + " " + ((sc n).ExecStartPre or "")) units;
        } "echo \\"$lines\\" > $out"`);

      // NixOS activation: groups, then users, before any unit starts.
      sh("groupadd", ["-f", "--system", "kvm"]);
      for (const group of Object.keys(evaluated.groups)) {
        addSystemGroup(group);
        cleanup.push(() => removeSystemGroup(group));
      }
      for (const [user, u] of Object.entries(evaluated.users)) {
        expect(u.isSystemUser).toBe(true);
        addSystemUser(user, u.group, u.extraGroups);
        cleanup.push(() => removeSystemUser(user));
      }

      // The host: a namespace with the LAN bridge, as the bridge's own unit made it at boot.
      ns = createNetns("-unit");
      cleanup.push(() => ns.remove());
      const bridges = Object.keys(evaluated.bridges);
      expect(bridges).toEqual(["br0"]);
      bridge = bridges[0]!;
      ns.ip("link", "add", "name", bridge, "type", "bridge");
      ns.ip("link", "set", "dev", bridge, "up");

      for (const name of Object.values(names)) {
        const unit = evaluated.services[`qemu-guest-${name}`]!;
        const tapUnitName = unit.requires.find((u) => u.startsWith("vmflake-tap-"));
        expect(tapUnitName, `${name} requires a tap unit`).toBeDefined();
        const tapUnit = evaluated.services[tapUnitName!.replace(/\.service$/, "")]!;
        const sc = unit.serviceConfig;
        const pre = parseExecLine(sc.ExecStartPre!);
        const start = parseExecLine(sc.ExecStart);
        const stop = parseExecLine(sc.ExecStop);
        const tapUp = parseExecLine(tapUnit.serviceConfig.ExecStart);
        const tapDown = parseExecLine(tapUnit.serviceConfig.ExecStop);
        const g: Guest = {
          unit,
          tapUnitName: tapUnitName!,
          tapUnit,
          user: sc.User!,
          group: sc.Group!,
          pre,
          start,
          stop,
          tapUp,
          tapDown,
          tap: tapUp[2]!,
          image: pre[1]!,
          diskBytes: Number(pre[2]),
          qmpSocket: stop[1]!,
          stopTimeout: Number(stop[2]),
          consoleLog: /logfile=([^,]+)/.exec(flagValue(start, "-chardev", "socket,"))![1]!,
        };
        guests[name] = g;

        // StateDirectory= / RuntimeDirectory=: systemd creates them for User=, with their modes.
        const ids = userIds(g.user);
        for (const [d, mode] of [
          [join("/var/lib", sc.StateDirectory!), sc.StateDirectoryMode!],
          [join("/run", sc.RuntimeDirectory!), sc.RuntimeDirectoryMode!],
        ] as const) {
          mkdirSync(d, { recursive: true });
          sh("chown", [`${ids.uid}:${ids.gid}`, d]);
          chmodSync(d, Number.parseInt(mode, 8));
          cleanup.push(() => rmSync(d, { recursive: true, force: true }));
        }
        // A first image smaller than declared, as the user: ExecStartPre must grow it.
        sh("setpriv", [
          ...asUserArgs(g),
          "qemu-img",
          "create",
          "-q",
          "-f",
          "qcow2",
          g.image,
          "64M",
        ]);
      }
      cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));
      kitGuest("acpi");
      kitGuest("deaf");
    }, 300_000);

    function asUserArgs(g: Guest): string[] {
      return [`--reuid=${g.user}`, `--regid=${g.group}`, "--init-groups"];
    }
    /** argv as the unit's User=/Group= with the user's groups, inside the namespace. */
    const asUser = (g: Guest, argv: readonly string[]): string[] => [
      ...ns.exec,
      "setpriv",
      ...asUserArgs(g),
      ...argv,
    ];

    it("each guest unit requires and is ordered after its tap's unit; neither is restarted by a rebuild", () => {
      for (const [name, g] of Object.entries(guests)) {
        expect(g.tapUnitName).toBe(`vmflake-tap-${g.tap}.service`);
        expect(g.unit.after).toContain(g.tapUnitName);
        expect(g.unit.restartIfChanged).toBe(false);
        expect(g.tapUnit.restartIfChanged).toBe(false);
        expect(g.tapUnit.serviceConfig).toMatchObject({ Type: "oneshot", RemainAfterExit: true });
        // It attaches its tap to the bridge, so it comes after the bridge's device and unit: the
        // order this test follows (the bridge first, then the tap unit).
        expect(g.tapUnit.after).toEqual(
          expect.arrayContaining([
            `sys-subsystem-net-devices-${bridge}.device`,
            `${bridge}-netdev.service`,
          ]),
        );
        // The tap unit's programs are the real tap.sh: up TAP USER MAC BRIDGE, down TAP.
        expect(g.tapUp.slice(1)).toEqual(["up", g.tap, g.user, g.tapUp[4], bridge]);
        expect(g.tapUp[4]).toMatch(/^fe(:[0-9a-f]{2}){5}$/);
        expect(g.tapDown).toEqual([g.tapUp[0], "down", g.tap]);
        expect(g.tapUp[0]).toMatch(/-vmflake-tap\/bin\/vmflake-tap$/);
        // QEMU's NIC is that tap; QEMU is the stand-in nixpkgs' qemu_kvm, its main program.
        expect(flagValue(g.start, "-netdev", "tap,")).toContain(`ifname=${g.tap},`);
        expect(g.start[0]).toMatch(/-qemu-kvm-stand-in\/bin\/qemu-kvm$/);
        expect(g.unit.serviceConfig.User).toBe(`vm-${name}`);
        expect(g.stopTimeout).toBe(shutdownTimeout[name === names.acpi ? "acpi" : "deaf"]);
      }
    });

    for (const [flavour, name] of Object.entries(names) as [keyof typeof names, string][]) {
      it(`${name} (${flavour === "acpi" ? "honours" : "ignores"} the power button): tap, grow, start as its user, stop, refuse to shrink, tap gone`, async () => {
        const g = guests[name]!;
        const uid = userIds(g.user).uid;

        // The tap unit's ExecStart, as root in the host's namespace (Requires= starts it first).
        const up = await run([...ns.exec, ...g.tapUp], unitEnv());
        expect(up.status, up.stderr).toBe(0);
        expect(up.stdout).toContain(`created tap ${g.tap} for user ${g.user}`);
        const [link] = ns.ipJson<IpLink[]>("-d", "link", "show", "dev", g.tap);
        expect(link?.linkinfo?.info_data).toMatchObject({ type: "tap", user: g.user });
        expect(link?.master).toBe(bridge);
        expect(link?.address).toBe(g.tapUp[4]);

        // ExecStartPre, as the unit's user: the image grows to the declared 1G.
        const pre = await run(asUser(g, g.pre), unitEnv());
        expect(pre.stderr).toBe("");
        expect(pre.status).toBe(0);
        expect(g.diskBytes).toBe(1024 ** 3);
        expect(virtualSize(g.image)).toBe(g.diskBytes);

        // ExecStart: QEMU itself, as the unit's user, in the namespace that holds the tap.
        const boot = kitGuest(flavour).bootArgs.join("\n");
        const argv = asUser(g, g.start);
        const qemu = spawn(argv[0]!, argv.slice(1), {
          env: unitEnv({ QEMU_TCG_EXTRA_ARGS: boot }),
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        qemu.stdout.on("data", (d: Buffer) => (output += d.toString()));
        qemu.stderr.on("data", (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((resolve) =>
          qemu.on("close", (code) => resolve(code)),
        );
        let running = true;
        void exited.then(() => (running = false));
        try {
          await waitUntil(
            `${name} to boot`,
            () =>
              !running ||
              (existsSync(g.consoleLog) &&
                readFileSync(g.consoleLog, "utf8").includes(kitMarkers.ready)),
            240_000,
          );
          expect(running, output).toBe(true);
          // Every exec kept the pid: it is QEMU's, and QEMU runs as the guest's user.
          const status = readFileSync(`/proc/${qemu.pid}/status`, "utf8");
          expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, "m"));
          expect(readFileSync(`/proc/${qemu.pid}/comm`, "utf8")).toMatch(/qemu/);
          expect(statSync(g.qmpSocket).uid).toBe(uid);
          // It holds the tap the tap unit made (the kernel's record of its tun descriptors).
          expect(tapsHeldBy(qemu.pid!)).toEqual([g.tap]);

          // ExecStop, as the unit's user, with MAINPID as systemd sets it.
          const t0 = Date.now();
          const stop = await run(asUser(g, g.stop), unitEnv({ MAINPID: String(qemu.pid) }));
          const code = await exited;
          const ms = Date.now() - t0;
          console.log(`${name}: ExecStop → QEMU exit in ${ms} ms (${stop.stdout.trim()})`);
          expect(stop.status, stop.stderr).toBe(0);
          expect(code).toBe(0);
          // Within TimeoutStopSec, after which systemd would SIGKILL what is left.
          expect(ms).toBeLessThan(g.unit.serviceConfig.TimeoutStopSec! * 1000);
          if (flavour === "acpi") {
            // Powered down by itself, so before its shutdownTimeout ran out.
            expect(stop.stdout).toMatch(/powered down/);
            expect(readFileSync(g.consoleLog, "utf8")).toContain(kitMarkers.powerButton);
          } else {
            expect(stop.stdout).toMatch(/forced quit/);
            expect(ms).toBeGreaterThanOrEqual(g.stopTimeout * 1000);
          }
          expect(warningLines(output)).toEqual([]);
          const check = spawnSync("qemu-img", ["check", "-f", "qcow2", g.image], {
            encoding: "utf8",
          });
          expect(check.status, check.stdout + check.stderr).toBe(0);
          expect(statSync(g.image).uid).toBe(uid);
        } finally {
          if (running) qemu.kill("SIGKILL");
        }

        // An image larger than declared (declared smaller later): ExecStartPre refuses, so
        // systemd would not start QEMU, and the image keeps its size.
        const larger = 2 * g.diskBytes;
        sh("setpriv", [
          ...asUserArgs(g),
          "qemu-img",
          "resize",
          "-q",
          "-f",
          "qcow2",
          g.image,
          String(larger),
        ]);
        const shrink = await run(asUser(g, g.pre), unitEnv());
        expect(shrink.status).toBe(1);
        expect(shrink.stderr).toMatch(/refusing to shrink/);
        expect(virtualSize(g.image)).toBe(larger);

        // The tap unit's ExecStop (its unit stopped): the tap is gone.
        const down = await run([...ns.exec, ...g.tapDown], unitEnv());
        expect(down.status, down.stderr).toBe(0);
        expect(ns.tryIp("link", "show", "dev", g.tap).ok).toBe(false);
      }, 400_000);
    }
  },
  { root: true },
);

/** A Nix list of strings. */
function nixList(items: readonly string[]): string {
  return `[ ${items.map((s) => JSON.stringify(s)).join(" ")} ]`;
}
