/**
 * The host command `vms`, built from the EMITTED host module (stand-in nixpkgs: its
 * writeShellApplication runs the real shellcheck) and run against real QEMU guests (TCG kit) in
 * a network namespace of the test's own, reading the guests' facts file the module writes.
 *
 * The one stand-in is test/vms/support/systemctl (systemd cannot run here): it runs each unit's
 * own Exec argv from the evaluated module — the real tap.sh, prepare-disk, QEMU through the kit's
 * TCG wrapper as the guest's user, the real stop program with MAINPID — except the first install,
 * whose real run other tests cover: here it creates the blank image the installer would fill.
 * Everything `vms` itself does (qemu-img, QMP, the bridge's neighbour table, socat, ssh) is real.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { cleanupSteps } from "../support/cleanup.ts";
import { parseExecLine } from "../support/exec-line.ts";
import {
  build as nixBuild,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { kitMarkers } from "../support/qemu-kit/guest-init.ts";
import { kitGuest } from "../support/qemu-kit/guest.ts";
import { waitUntil } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { createNetns, type Netns } from "../network/support/netns.ts";
import {
  addSystemGroup,
  addSystemUser,
  removeSystemGroup,
  removeSystemUser,
} from "../network/support/system-users.ts";

const STAND_IN_DIR = join(import.meta.dirname, "support");
const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface EvaluatedUnit {
  requires: string[];
  unitConfig: { ConditionPathExists?: string };
  serviceConfig: {
    Type: string;
    RemainAfterExit?: boolean;
    User?: string;
    StateDirectory?: string;
    StateDirectoryMode?: string;
    RuntimeDirectory?: string;
    RuntimeDirectoryMode?: string;
    TimeoutStopSec?: number;
    ExecStartPre?: string;
    ExecStart: string;
    ExecStop?: string;
  };
}

interface Evaluated {
  services: Record<string, EvaluatedUnit>;
  users: Record<string, { group: string; extraGroups: string[] }>;
  groups: Record<string, unknown>;
  facts: string;
  vms: string;
}

interface GuestFacts {
  unit: string;
  installUnit: string;
  image: string;
  consoleLog: string;
  consoleSocket: string;
  diskBytes: number;
  macs: string[];
}

interface Listed {
  name: string;
  state: string;
  uptimeSeconds: number | null;
  addresses: string[];
  macs: string[];
  diskBytes: number;
  diskUsedBytes: number | null;
}

interface Snapshot {
  tag: string;
  vmStateBytes: number;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TOOLS = [
  ...qemuKitTools,
  "nix-instantiate",
  "nix-build",
  "socat",
  "jq",
  "ip",
  "ssh",
  "setpriv",
  "useradd",
  "groupadd",
  "qemu-io",
];

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** The first 64 KiB of an image's guest-visible data, hashed (qemu-io, read-only). */
function dataHash(image: string, snapshot?: string): string {
  const opts = snapshot === undefined ? [] : ["-l", `snapshot.name=${snapshot}`];
  const copy = `${image}.view`;
  let target = image;
  if (snapshot !== undefined) {
    sh("qemu-img", ["convert", "-U", ...opts, "-f", "qcow2", "-O", "qcow2", image, copy]);
    target = copy;
  }
  try {
    const dump = sh("qemu-io", ["-r", "-U", "-f", "qcow2", "-c", "read -v 0 65536", target]);
    // Only the hex dump: qemu-io's summary lines carry timings.
    const hex = dump.split("\n").filter((l) => /^[0-9a-f]{8}: /.test(l));
    expect(hex.length).toBe(65536 / 16);
    return createHash("sha256").update(hex.join("\n")).digest("hex");
  } finally {
    if (snapshot !== undefined) rmSync(copy, { force: true });
  }
}

const fileHash = (path: string): string =>
  createHash("sha256").update(readFileSync(path)).digest("hex");

describeWith(
  TOOLS,
  "vms, the host command, against real QEMU guests",
  () => {
    const id = randomBytes(3).toString("hex");
    const stateRoot = `/var/lib/vmflake-vms-${id}`;
    const alice = `alice-${id}`;
    const bob = `bob-${id}`;
    const carol = `carol-${id}`;
    const subnet = `10.${100 + (randomBytes(1)[0]! % 100)}.${randomBytes(1)[0]! % 250}`;
    const hostAddress = `${subnet}.1`;
    const aliceAddress = `${subnet}.2`;
    const dir = tempDir();
    const cleanup = cleanupSteps("vms test");
    const systemd = join(dir, "systemd");
    let ns: Netns;
    let vms: string;
    let facts: Record<string, GuestFacts>;
    let env: NodeJS.ProcessEnv;

    /** `vms args…` inside the namespace, with the stand-in systemctl first on PATH. */
    function runVms(
      args: readonly string[],
      input?: (p: ReturnType<typeof spawn>) => void,
    ): Promise<Run> {
      return new Promise((resolve, reject) => {
        const p = spawn("ip", ["netns", "exec", ns.name, vms, ...args], {
          env,
          stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        p.on("error", reject);
        p.on("close", (code) => resolve({ code, stdout, stderr }));
        input?.(p);
      });
    }
    const listJson = async (): Promise<Record<string, Listed>> => {
      const r = await runVms(["list", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      return Object.fromEntries((JSON.parse(r.stdout) as Listed[]).map((g) => [g.name, g]));
    };
    const snapshots = async (name: string): Promise<Snapshot[]> => {
      const r = await runVms(["--json", "snapshots", name]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Snapshot[];
    };
    const calls = (): string =>
      existsSync(join(systemd, "calls")) ? readFileSync(join(systemd, "calls"), "utf8") : "";
    /** A refusal: exit 1, one line naming the problem, and no unit started or stopped. */
    async function expectRefused(args: readonly string[], message: RegExp): Promise<void> {
      const before = calls();
      const r = await runVms(args);
      expect(r.code, `vms ${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stdout).toBe("");
      const added = calls().slice(before.length).split("\n").filter(Boolean);
      expect(
        added.filter((c) => !c.startsWith("show ")),
        "units started or stopped",
      ).toEqual([]);
    }

    beforeAll(async () => {
      chmodSync(dir, 0o755);
      const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
      const hosts = join(dir, "hosts.ts");
      writeFileSync(
        hosts,
        `import { defineHosts } from ${lib};
export default defineHosts({ hosts: {
  testhost: {
    lan: { nic: "eth0", bridge: "br0" },
    stateDir: ${JSON.stringify(stateRoot)},
    stateVersion: "26.05",
    guests: {
      ${JSON.stringify(alice)}: { memory: "256M", disk: "1G", shutdownTimeout: 20 },
      ${JSON.stringify(bob)}: { memory: "256M", disk: "1G", shutdownTimeout: 20, vnc: 7 },
    },
  },
  elsewhere: {
    lan: { nic: "eth0", bridge: "br0" },
    stateVersion: "26.05",
    guests: { ${JSON.stringify(carol)}: { memory: "256M", disk: "1G" } },
  },
} });
`,
      );
      const out = join(dir, "flake");
      const r = await build(["--hosts", hosts, "--out", out, "--no-typecheck"]);
      expect(r.stderr).toBe("");

      const guestUnits = [alice, bob].flatMap((n) => [
        `qemu-guest-${n}`,
        `qemu-guest-${n}-install`,
      ]);
      const prelude = `
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
        c = (nixpkgs.lib.nixosSystem { modules = [ (${flakeOutputs(out)}).nixosModules.testhost ]; }).config;
        units = builtins.filter (n: builtins.substring 0 12 n == "vmflake-tap-") (builtins.attrNames c.systemd.services)
          ++ ${JSON.stringify(guestUnits).replaceAll(",", " ")};
        vms = builtins.head (builtins.filter (p: p.name == "vms") c.environment.systemPackages);`;
      const evaluated = evalJson<Evaluated>(`
        let ${prelude}
        in {
          services = builtins.listToAttrs (map (n: let s = c.systemd.services.\${n}; in {
            name = n;
            value = { inherit (s) serviceConfig; requires = s.requires or [ ]; unitConfig = s.unitConfig or { }; };
          }) units);
          inherit (c.users) users groups;
          facts = c.environment.etc."vmflake/guests.json".text;
          vms = "\${vms}/bin/vms";
        }`);
      nixBuild(`
        let ${prelude}
          sc = n: c.systemd.services.\${n}.serviceConfig;
        in nixpkgs.legacyPackages.x86_64-linux.runCommand "vms-deps" {
          lines = [ "\${vms}" ] ++ map (n: (sc n).ExecStart + " " + ((sc n).ExecStop or "") + " " + ((sc n).ExecStartPre or "")) units;
        } "echo \\"$lines\\" > $out"`);
      vms = evaluated.vms;
      const factsFile = join(dir, "guests.json");
      writeFileSync(factsFile, evaluated.facts);
      facts = (JSON.parse(evaluated.facts) as { guests: Record<string, GuestFacts> }).guests;

      sh("groupadd", ["-f", "--system", "kvm"]);
      for (const group of Object.keys(evaluated.groups)) {
        addSystemGroup(group);
        cleanup.push(() => removeSystemGroup(group));
      }
      for (const [user, u] of Object.entries(evaluated.users)) {
        addSystemUser(user, u.group, u.extraGroups);
        cleanup.push(() => removeSystemUser(user));
      }
      cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));

      ns = createNetns("-vms");
      cleanup.push(() => ns.remove());
      ns.ip("link", "add", "name", "br0", "type", "bridge");
      ns.ip("addr", "add", `${hostAddress}/24`, "dev", "br0");
      ns.ip("link", "set", "dev", "br0", "up");

      // The stand-in systemctl's unit table, from the evaluated units.
      const table: Record<string, unknown> = {};
      for (const [name, u] of Object.entries(evaluated.services)) {
        const sc = u.serviceConfig;
        const isInstall = name.endsWith("-install");
        const guestName = name.replace(/^qemu-guest-/, "").replace(/-install$/, "");
        table[name] = {
          type: sc.Type,
          remainAfterExit: sc.RemainAfterExit ?? false,
          user: sc.User,
          stateDirectory: sc.StateDirectory,
          stateDirectoryMode: sc.StateDirectoryMode,
          runtimeDirectory: sc.RuntimeDirectory,
          runtimeDirectoryMode: sc.RuntimeDirectoryMode,
          timeoutStopSec: sc.TimeoutStopSec,
          conditionPathExists: u.unitConfig.ConditionPathExists,
          requires: u.requires.map((r) => r.replace(/\.service$/, "")),
          execStartPre: sc.ExecStartPre === undefined ? [] : parseExecLine(sc.ExecStartPre),
          // The first install: the blank image the installer VM would have filled.
          execStart: isInstall
            ? [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                facts[guestName]!.image,
                String(facts[guestName]!.diskBytes),
              ]
            : parseExecLine(sc.ExecStart),
          execStop: sc.ExecStop === undefined ? [] : parseExecLine(sc.ExecStop),
        };
      }
      sh("mkdir", ["-p", join(systemd, "units")]);
      for (const [name, unit] of Object.entries(table)) {
        writeFileSync(join(systemd, "units", `${name}.json`), JSON.stringify(unit));
      }
      env = {
        PATH: `${STAND_IN_DIR}:${SYSTEMD_PATH}`,
        VMFLAKE_GUESTS: factsFile,
        VMFLAKE_TEST_SYSTEMD: systemd,
        VMFLAKE_TEST_NETNS: ns.name,
        QEMU_TCG_EXTRA_ARGS: kitGuest("shell").bootArgs.join("\n"),
      };
      // Whatever a failed test left running: the stand-in's stop, then SIGKILL.
      cleanup.push(async () => {
        for (const g of [alice, bob]) {
          await runVms(["stop", g]);
          const pidFile = join(systemd, "state", `qemu-guest-${g}`, "pid");
          if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
          rmSync(`/run/qemu-guests/${g}`, { recursive: true, force: true });
        }
      });
    }, 300_000);

    it("says how to use it, and refuses a missing or unknown command (exit 2)", async () => {
      const help = await runVms(["--help"]);
      expect(help.code).toBe(0);
      for (const c of [
        "list",
        "status NAME",
        "console NAME",
        "snapshot NAME [TAG]",
        "revert NAME TAG",
        "reinstall NAME",
      ]) {
        expect(help.stdout).toContain(c);
      }
      expect((await runVms([])).code).toBe(2);
      const bad = await runVms(["frobnicate"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("unknown command: frobnicate");
    });

    it("starts a guest through systemd: it installs first, boots, and list/status show it running and the other stopped", async () => {
      const start = await runVms(["start", alice]);
      expect(start.code, start.stderr).toBe(0);
      expect(start.stdout).toBe(`vms: ${alice} is running\n`);
      expect(calls()).toContain(`start -- qemu-guest-${alice}.service`);
      const log = facts[alice]!.consoleLog;
      await waitUntil(
        `${alice} to boot`,
        () => existsSync(log) && readFileSync(log, "utf8").includes(kitMarkers.ready),
        240_000,
      );
      const listed = await listJson();
      expect(Object.keys(listed).sort()).toEqual([alice, bob]);
      expect(listed[alice]).toMatchObject({
        state: "running",
        diskBytes: 1024 ** 3,
        macs: facts[alice]!.macs,
      });
      expect(listed[alice]!.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(listed[alice]!.diskUsedBytes).toBeGreaterThan(0);
      expect(listed[bob]).toMatchObject({
        state: "stopped",
        uptimeSeconds: null,
        diskUsedBytes: null,
        addresses: [],
      });

      const table = await runVms(["list"]);
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trimEnd().split("\n");
      expect(header).toMatch(
        /^NAME +STATE +UPTIME +CPUS +MEMORY +DISK +USED +MAC +ADDRESSES +VNC$/,
      );
      expect(rows.map((r) => r.split(/ +/).slice(0, 2))).toEqual([
        [alice, "running"],
        [bob, "stopped"],
      ]);
      expect(rows[1]).toMatch(/ 256M +1G +- +\S+ +- +127\.0\.0\.1:7$/);

      const status = await runVms(["status", alice]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`qemu-guest-${alice}.service: active/running`);
      expect(status.stdout).toContain(kitMarkers.ready);
      const json = JSON.parse((await runVms(["status", "--json", alice])).stdout) as {
        state: string;
        consoleLog: string[];
      };
      expect(json.state).toBe("running");
      expect(json.consoleLog.join("\n")).toContain(kitMarkers.ready);
    }, 300_000);

    it("console: a line typed into the guest's shell comes back computed, the log keeps it, Ctrl-] leaves", async () => {
      const nonce = randomBytes(4).toString("hex");
      let out = "";
      const r = await runVms(["console", alice], (p) => {
        p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        void (async () => {
          // Typed until the shell answers (its prompt may not be up the moment QEMU is).
          await waitUntil(
            "the guest shell's answer",
            () => {
              if (!out.includes(`vms-42-${nonce}`))
                p.stdin!.write(`echo vms-$((6 * 7))-${nonce}\n`);
              return out.includes(`vms-42-${nonce}`);
            },
            60_000,
          ).catch(() => undefined);
          // The guest takes an address and says hello to the host, which learns its MAC.
          p.stdin!.write(
            `ip addr add ${aliceAddress}/24 dev eth0; ip link set eth0 up; ping -c 3 -W 2 ${hostAddress} >/dev/null; echo ping-$?-${nonce}\n`,
          );
          await waitUntil("the guest's ping", () => out.includes(`ping-0-${nonce}`), 60_000).catch(
            () => undefined,
          );
          p.stdin!.write("\x1d");
        })();
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("press Ctrl-] to leave");
      expect(out).toContain(`vms-42-${nonce}`);
      expect(out).toContain(`ping-0-${nonce}`);
      // The log file is kept as before: what the guest wrote is in it, connected or not.
      const log = readFileSync(facts[alice]!.consoleLog, "utf8").replace(/\r/g, "");
      expect(log).toContain(`vms-42-${nonce}`);
      expect(log).toContain(kitMarkers.ready);
    }, 180_000);

    it("list shows the address the bridge learned for the guest's MAC; ssh goes there", async () => {
      const listed = await listJson();
      expect(listed[alice]!.addresses).toEqual([aliceAddress]);
      const table = await runVms(["list"]);
      expect(table.stdout).toMatch(
        new RegExp(`^${alice} +running .* ${aliceAddress.replaceAll(".", "\\.")} +-$`, "m"),
      );
      // The kit guest has no sshd: the refused connection shows ssh went to the learned address.
      const ssh = await runVms([
        "ssh",
        alice,
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "true",
      ]);
      expect(ssh.code).toBe(255);
      expect(ssh.stderr).toContain(`connect to host ${aliceAddress} port 22`);
    }, 60_000);

    it("snapshot of the running guest through QMP (disk and memory), listed by snapshots", async () => {
      const r = await runVms(["snapshot", alice, "live-1"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`vms: took snapshot live-1 of ${alice} (running)\n`);
      const list = await snapshots(alice);
      expect(list.map((s) => s.tag)).toEqual(["live-1"]);
      expect(list[0]!.vmStateBytes).toBeGreaterThan(0);
      expect((await listJson())[alice]!.state).toBe("running");
      const table = await runVms(["snapshots", alice]);
      expect(table.stdout).toMatch(
        /^TAG +DATE +VM STATE\nlive-1 +\d{4}-\d\d-\d\dT[\d:]+Z +[\d.]+[KMG]\n$/,
      );
    }, 120_000);

    it("refuses every bad input with one line, exit 1, nothing touched", async () => {
      const image = facts[alice]!.image;
      const before = (await snapshots(alice)).map((s) => s.tag);
      await expectRefused(
        ["status", "nobody"],
        new RegExp(
          `^vms: no guest nobody on this host \\(testhost\\); its guests: ${alice}, ${bob}$`,
        ),
      );
      await expectRefused(
        ["start", carol],
        new RegExp(
          `^vms: ${carol} is a guest of host elsewhere, not of this host \\(testhost\\); run vms there$`,
        ),
      );
      await expectRefused(["stop", "Bad;name"], /^vms: "Bad;name" is not a guest name$/);
      await expectRefused(
        ["revert", alice, "live-1"],
        new RegExp(`^vms: ${alice} is running; stop it first \\(vms stop ${alice}\\)$`),
      );
      await expectRefused(
        ["snapshot", alice, "live-1"],
        new RegExp(`^vms: ${alice} already has a snapshot live-1$`),
      );
      await expectRefused(["snapshot", alice, "a,b"], /is not a snapshot tag/);
      await expectRefused(["snapshot", alice, "$(reboot)"], /is not a snapshot tag/);
      await expectRefused(
        ["console", bob],
        new RegExp(`^vms: ${bob} is stopped; its console log: vms log ${bob}$`),
      );
      await expectRefused(["ssh", bob], new RegExp(`^vms: no address seen for ${bob}'s MAC`));
      await expectRefused(["revert", bob, "x"], new RegExp(`^vms: ${bob} has no image \\(`));
      await expectRefused(
        ["reinstall", bob],
        new RegExp(`^vms: ${bob} has no image \\(.*\\) to keep`),
      );
      await expectRefused(["log", bob], new RegExp(`^vms: ${bob} has no such log yet`));
      expect((await snapshots(alice)).map((s) => s.tag)).toEqual(before);
      expect(existsSync(image)).toBe(true);
      expect(existsSync(facts[bob]!.image)).toBe(false);
      expect((await listJson())[alice]!.state).toBe("running");
    }, 120_000);

    it("snapshot and revert while stopped: a snapshot of the current state first, so nothing is lost", async () => {
      const stop = await runVms(["stop", alice]);
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toBe(`vms: ${alice} is stopped\n`);
      expect((await listJson())[alice]!.state).toBe("stopped");
      const image = facts[alice]!.image;

      const snap = await runVms(["snapshot", alice, "offline-1"]);
      expect(snap.code, snap.stderr).toBe(0);
      expect(snap.stdout).toBe(`vms: took snapshot offline-1 of ${alice} (stopped)\n`);
      const atSnapshot = dataHash(image);
      // Change the disk after the snapshot, as a guest would.
      sh("qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 0 65536", image]);
      const changed = dataHash(image);
      expect(changed).not.toBe(atSnapshot);

      const fileBefore = fileHash(image);
      await expectRefused(
        ["revert", alice, "no-such-tag"],
        new RegExp(`^vms: ${alice} has no snapshot no-such-tag \\(see: vms snapshots ${alice}\\)$`),
      );
      expect(fileHash(image)).toBe(fileBefore);

      const revert = await runVms(["revert", alice, "offline-1"]);
      expect(revert.code, revert.stderr).toBe(0);
      const safety = /the state before is snapshot (before-revert-\d{8}T\d{6}Z)$/m.exec(
        revert.stdout,
      )?.[1];
      expect(safety, revert.stdout).toBeDefined();
      expect((await snapshots(alice)).map((s) => s.tag)).toEqual(["live-1", "offline-1", safety]);
      expect(dataHash(image)).toBe(atSnapshot);
      // The state it replaced is in the safety snapshot.
      expect(dataHash(image, safety)).toBe(changed);
      sh("qemu-img", ["check", "-q", "-f", "qcow2", image]);
    }, 180_000);

    it("reinstall stops the guest, keeps the old image under a dated name, starts it, which installs afresh", async () => {
      const start = await runVms(["start", alice]);
      expect(start.code, start.stderr).toBe(0);
      const image = facts[alice]!.image;
      const tagsBefore = (await snapshots(alice)).map((s) => s.tag);
      const callsBefore = calls().length;

      const r = await runVms(["reinstall", alice]);
      expect(r.code, r.stderr).toBe(0);
      const kept = /kept the old image of \S+ as (\S+);/.exec(r.stdout)?.[1];
      expect(kept, r.stdout).toMatch(new RegExp(`^${dirname(image)}/disk-\\d{8}T\\d{6}Z\\.qcow2$`));
      expect(r.stdout).toContain(`${alice} is running`);
      const newCalls = calls().slice(callsBefore);
      expect(newCalls).toContain(`stop -- qemu-guest-${alice}.service`);
      expect(newCalls).toContain(`start -- qemu-guest-${alice}.service`);
      expect(newCalls).not.toContain(`condition-skipped qemu-guest-${alice}-install`);
      // The old image, whole: its snapshots and data.
      const keptTags = JSON.parse(sh("qemu-img", ["info", "-U", "--output=json", kept!])) as {
        snapshots: { name: string }[];
      };
      expect(keptTags.snapshots.map((s) => s.name)).toEqual(tagsBefore);
      // A fresh image (the install), running.
      expect(await snapshots(alice)).toEqual([]);
      expect(
        readdirSync(dirname(image))
          .filter((f) => f.endsWith(".qcow2"))
          .sort(),
      ).toEqual(["disk.qcow2", kept!.slice(dirname(image).length + 1)].sort());
      expect((await listJson())[alice]!.state).toBe("running");
      const stop = await runVms(["stop", alice]);
      expect(stop.code, stop.stderr).toBe(0);
    }, 240_000);
  },
  { root: true },
);
