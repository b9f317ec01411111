/**
 * Faults at every state-changing step of the runtime's host-side programs, and the invariants
 * that must hold after each (docs/design.md: an image is created atomically and never
 * overwritten, deleted or shrunk; a failed install leaves only its log).
 *
 * The programs are the ones the emitted module builds (install-guest, prepare-disk, stop-guest,
 * shellcheck run at build), against the stand-in nixpkgs with its host tools taken from a copy
 * of /usr/bin in which `qemu-img`, `sync`, `ln` and `socat` are fault gates (support/gate.sh):
 * the real tool, except that the step the test names stops and waits, so a kill -9 lands exactly
 * there, or runs under strace, which SIGKILLs it at its Nth write or sync. The install unit's
 * QEMU is replaced by support/installer-vm.sh, which does to the host's files what the installer
 * VM does (real qemu-io writes into the image-in-progress, the marker on the console log), except
 * in the case that kills the unit's real QEMU while it runs; test/install/host-install.test.ts
 * boots the real installer. Stop faults use a real QEMU holding the image open with a real QMP
 * socket. File systems are real (tmpfs for full disks).
 *
 * Every program runs in a session of its own, standing for the unit's cgroup: killing the main
 * process and then everything left in the session is what systemd does when a unit's main
 * process dies. Everything runs as root here (the unprivileged runs are host-install's and
 * unit-run's). A kill leaves the page cache intact, so these are process deaths, not lost writes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseExecLine } from "../support/exec-line.ts";
import { build as nixBuild, evalJson, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { waitUntil } from "../support/qemu-kit/qemu-process.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { emitFlake } from "../install/support/install-flake.ts";

const TOOLS = [
  "strace",
  "nix-instantiate",
  "nix-build",
  "qemu-img",
  "qemu-io",
  "qemu-system-x86_64",
  "socat",
  "jq",
  "flock",
  "shellcheck",
  "mount",
];
const HOST = "faulthost";
const SUPPORT = join(import.meta.dirname, "support");
const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Generous: each run is a few seconds of shell and qemu-img on a loaded machine. */
const STEP_TIMEOUT_MS = 120_000;
const SMALL = 512 * 1024 * 1024;
const DECLARED = 1024 * 1024 * 1024;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface Running {
  pgid: number;
  /** The main process exited (its children may live on). */
  exited: Promise<void>;
  /** Its stdout/stderr closed: every process holding them is gone too. */
  done: Promise<Result>;
}

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** Starts argv in a process group of its own (the unit's cgroup), with systemd's PATH. */
function start(argv: readonly string[], env: Record<string, string> = {}): Running {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    detached: true,
    env: { PATH: SYSTEMD_PATH, LANG: "C.UTF-8", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const done = new Promise<Result>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { pgid: child.pid!, exited, done };
}

/**
 * Live (non-zombie) processes of the session the program started (node's `detached` is setsid):
 * the session, not the process group, since timeout(1) moves QEMU into a group of its own.
 */
function groupMembers(sid: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[3]) === sid && fields[0] !== "Z") found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
/** What systemd does to a unit's cgroup: SIGKILL to every process left in it. */
function killGroup(sid: number): void {
  for (const pid of groupMembers(sid)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

interface Programs {
  install: string[];
  /** The install unit's ExecStart as rendered: the real QEMU (the stand-in's TCG qemu-kvm). */
  installReal: string[];
  prepare: string[];
  stop: string[];
  image: string;
  work: string;
  log: string;
  state: string;
  bystander: string;
}

describeWith(
  TOOLS,
  "faults at every state-changing step of install, grow and stop",
  () => {
    const id = randomBytes(3).toString("hex");
    const stateRoot = `/var/lib/vmflake-faults-${id}`;
    const guest = `f-${id}`;
    const other = `o-${id}`;
    const dir = tempDir("vmflake-faults-");
    let bin = "";
    let p: Programs;
    const figures = {
      faults: 0,
      steps: new Set<string>(),
      violations: [] as string[],
      /** Faults after which a grown image had leaked clusters (qemu-img check status 3). */
      leaks: new Set<string>(),
    };
    const mounts: string[] = [];
    /** The gates' directories, one per gated run. */
    const gates: string[] = [];

    beforeAll(async () => {
      chmodSync(dir, 0o755);
      // The stand-in's host tools: /usr/bin, with qemu-img, sync, ln and socat behind the gate.
      bin = mkdtempSync(join(tmpdir(), "vmflake-faults-bin-"));
      chmodSync(bin, 0o755);
      const gate = join(bin, ".gate");
      copyFileSync(join(SUPPORT, "gate.sh"), gate);
      chmodSync(gate, 0o755);
      for (const t of readdirSync("/usr/bin")) {
        symlinkSync(
          ["qemu-img", "sync", "ln", "socat"].includes(t) ? gate : join("/usr/bin", t),
          join(bin, t),
        );
      }
      const iso = join(dir, "installer.iso");
      writeFileSync(iso, "never booted: installer-vm.sh stands in for the installer VM\n");
      const out = await emitFlake(
        dir,
        `{ hosts: { ${HOST}: {
          lan: { nic: "eth0", bridge: "br0" },
          stateDir: ${JSON.stringify(stateRoot)},
          stateVersion: "26.05",
          guests: {
            ${JSON.stringify(guest)}: { memory: "256M", disk: "1G", offlineInstall: true, shutdownTimeout: 1 },
            ${JSON.stringify(other)}: { memory: "256M", disk: "1G", offlineInstall: true },
          },
        } } }`,
      );
      const prelude = `
        dir = /. + ${nixPath(out)};
        flake = import (dir + "/flake.nix");
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { hostBin = ${nixPath(bin)}; bootableIso = ${nixPath(iso)}; };
        self = flake.outputs { inherit self nixpkgs; } // { outPath = dir; };
        c = (nixpkgs.lib.nixosSystem { modules = [ self.nixosModules.${HOST} ]; }).config;
        g = c.systemd.services."qemu-guest-${guest}".serviceConfig;
        i = c.systemd.services."qemu-guest-${guest}-install".serviceConfig;`;
      const lines = evalJson<{ pre: string; stop: string; install: string }>(
        `let ${prelude} in { pre = g.ExecStartPre; stop = g.ExecStop; install = i.ExecStart; }`,
      );
      nixBuild(`let ${prelude} in nixpkgs.legacyPackages.x86_64-linux.runCommand "fault-deps" {
        lines = [ g.ExecStartPre g.ExecStop i.ExecStart ];
      } "echo done > $out"`);
      const install = parseExecLine(lines.install);
      const installReal = [...install];
      const qemuAt = install.indexOf("--") + 1;
      install[qemuAt] = join(SUPPORT, "installer-vm.sh");
      const opt = (o: string) => install[install.indexOf(o) + 1]!;
      const prepare = parseExecLine(lines.pre);
      expect(Number(prepare[2])).toBe(DECLARED);
      p = {
        install,
        installReal,
        prepare,
        stop: parseExecLine(lines.stop),
        image: opt("--image"),
        work: opt("--work"),
        log: opt("--log"),
        state: join(stateRoot, guest),
        bystander: join(stateRoot, other, "disk.qcow2"),
      };
      // Another guest's image, which no fault of this guest may touch.
      mkdirSync(join(stateRoot, other), { recursive: true });
      sh("qemu-img", ["create", "-q", "-f", "qcow2", p.bystander, String(DECLARED)]);
      sh("qemu-io", ["-f", "qcow2", "-c", "write -P 0x33 0 64k", p.bystander]);
    }, 600_000);

    afterAll(() => {
      for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
      rmSync(stateRoot, { recursive: true, force: true });
      if (bin !== "") rmSync(bin, { recursive: true, force: true });
      for (const gate of gates) rmSync(gate, { recursive: true, force: true });
      const v = figures.violations;
      console.log(
        `fault figures: ${figures.faults} faults injected at ${figures.steps.size} distinct steps; ` +
          `${v.length} invariant violations${v.length ? `:\n  ${v.join("\n  ")}` : ""}; ` +
          `${figures.leaks.size} grows cut midway left leaked clusters (no data harmed)` +
          (figures.leaks.size ? `: ${[...figures.leaks].join(", ")}` : ""),
      );
    });

    /** A fresh guest directory (the test's own reset between faults, never the runtime's). */
    function reset(opts: { tmpfsBytes?: number } = {}): void {
      if (existsSync(p.state)) {
        spawnSync("umount", [p.state]);
        rmSync(p.state, { recursive: true, force: true });
      }
      mkdirSync(p.state, { recursive: true, mode: 0o750 });
      if (opts.tmpfsBytes !== undefined) {
        sh("mount", ["-t", "tmpfs", "-o", `size=${opts.tmpfsBytes},mode=0750`, "tmpfs", p.state]);
        mounts.push(p.state);
      }
    }

    /** A guest image as an install left it: the installed system, at `bytes` virtual size. */
    function installedImage(bytes: number): void {
      sh("qemu-img", ["create", "-q", "-f", "qcow2", p.image, String(bytes)]);
      sh("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 1M", p.image]);
    }

    /** qemu-img check's status: 0 clean, 3 leaked clusters only (no harm to data), 2 corrupt. */
    const checkStatus = (image: string) =>
      spawnSync("qemu-img", ["check", "-f", "qcow2", image], { encoding: "utf8" }).status;
    const holdsInstall = (image: string) =>
      spawnSync("qemu-io", ["-r", "-f", "qcow2", "-c", "read -P 0x5a 0 1M", image], {
        encoding: "utf8",
      }).stdout.includes("read 1048576/1048576");
    const virtualSize = (image: string) =>
      (
        JSON.parse(sh("qemu-img", ["info", "-f", "qcow2", "--output=json", image])) as {
          "virtual-size": number;
        }
      )["virtual-size"];

    /** The invariants after a fault; each broken one is recorded (and fails the test). */
    function invariants(
      step: string,
      pgids: number[],
      before: { bystander: string; image?: { sha: string; grownOnly: boolean } },
    ): string[] {
      const v: string[] = [];
      for (const pgid of pgids) {
        const left = groupMembers(pgid);
        if (left.length > 0) v.push(`${step}: processes left running: ${left.join(" ")}`);
      }
      if (sha(p.bystander) !== before.bystander) v.push(`${step}: another guest's image changed`);
      if (existsSync(p.image)) {
        // A new image is published only clean; a grow killed midway may leak a cluster (space,
        // never data: qemu-img check's status 3), which prepare-disk reports and starts with.
        const status = checkStatus(p.image);
        if (status === 3 && before.image?.grownOnly) {
          figures.leaks.add(step.replace(/ \(.*\)$/, ""));
        } else if (status !== 0) {
          v.push(`${step}: qemu-img check of the image: status ${status}`);
        }
        if (!holdsInstall(p.image)) v.push(`${step}: a published image without a complete install`);
        if (before.image && !before.image.grownOnly && sha(p.image) !== before.image.sha) {
          v.push(`${step}: the image changed`);
        }
        if (before.image?.grownOnly && ![SMALL, DECLARED].includes(virtualSize(p.image))) {
          v.push(`${step}: the image's size is neither the old one nor the declared one`);
        }
      } else if (before.image) {
        v.push(`${step}: the image was deleted`);
      }
      return v;
    }

    /** One fault injected at `step` (where it lands; the kill's target is not part of it). */
    function record(name: string, v: string[], step = name): void {
      figures.faults += 1;
      figures.steps.add(step);
      figures.violations.push(...v);
    }

    /** Starts `argv` stopped at `at`, resolves with the gated process's pid (or null: it ended). */
    async function startAt(
      argv: string[],
      at: string,
      env: Record<string, string> = {},
    ): Promise<{ run: Running; pid: number; go: () => void }> {
      const gate = mkdtempSync(join(tmpdir(), "vmflake-gate-"));
      gates.push(gate);
      const run = start(argv, { ...env, VMFLAKE_FAULT_GATE: gate, VMFLAKE_FAULT_AT: at });
      let ended = false;
      void run.done.then(() => (ended = true));
      await waitUntil(
        `the step ${at}`,
        () => existsSync(join(gate, "at")) || ended,
        STEP_TIMEOUT_MS,
      );
      if (!existsSync(join(gate, "at"))) {
        const r = await run.done;
        throw new Error(`never reached ${at}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      }
      return {
        run,
        pid: Number(readFileSync(join(gate, "at"), "utf8")),
        go: () => writeFileSync(join(gate, "go"), ""),
      };
    }

    type Target = "script" | "tool" | "power";
    /** kill -9 of the main program, of the gated tool (QEMU, qemu-img), or of everything. */
    async function kill(run: Running, pid: number, target: Target): Promise<Result> {
      if (target === "script") {
        process.kill(run.pgid, "SIGKILL");
        await run.exited;
        // systemd then kills what is left of the unit's cgroup.
        killGroup(run.pgid);
      } else if (target === "tool") {
        process.kill(pid, "SIGKILL");
      } else {
        killGroup(run.pgid);
      }
      const r = await run.done;
      await waitUntil(
        "the group to be gone",
        () => groupMembers(run.pgid).length === 0,
        STEP_TIMEOUT_MS,
      );
      return r;
    }

    /** A failure the program saw (its tool killed) names the cause and, for an install, the log. */
    function namesCause(name: string, r: Result, log: boolean): string[] {
      if (r.code === 0) return [];
      const v: string[] = [];
      if (!/failed|refusing|cannot|could not|another/.test(r.stderr)) {
        v.push(`${name}: exit ${r.code} without naming the cause: ${JSON.stringify(r.stderr)}`);
      }
      if (log && !r.stderr.includes(p.log))
        v.push(`${name}: exit ${r.code} without naming the log`);
      return v;
    }

    const INSTALL_STEPS = [
      // The seed: the work directory and its seed directory made, the ISO link next.
      "before-ln#1",
      "after-ln#1",
      "before-qemu-img-create",
      "after-qemu-img-create",
      "installer-started",
      "installer-wrote",
      "installer-ok",
      "before-qemu-img-check",
      "after-qemu-img-check",
      "before-sync-image",
      "after-sync-image",
      // Publishing: link(2) of the checked image to its name, then the directory's sync.
      "before-ln#2",
      "after-ln#2",
      "before-sync-dir",
    ];
    const TARGETS: Target[] = ["script", "tool", "power"];

    /** kill -9 of `target` at install step `step`, the unit again, the start: its violations. */
    async function installFault(step: string, target: Target): Promise<string[]> {
      const name = `install/${step}/${target}`;
      reset();
      const before = { bystander: sha(p.bystander) };
      const { run, pid } = await startAt(p.install, step);
      const killed = await kill(run, pid, target);
      const v = invariants(name, [run.pgid], before);
      if (target === "tool") v.push(...namesCause(name, killed, true));
      // Once the link exists the install succeeded, whatever happens to its tools after.
      if (target === "tool" && step === "after-ln#2" && killed.code !== 0) {
        v.push(`${name}: a published image reported as a failed install: ${killed.stderr}`);
      }
      // As systemd would: the unit again, only while there is no image (its condition).
      let again: Running | undefined;
      if (!existsSync(p.image)) {
        again = start(p.install);
        const r = await again.done;
        if (r.code !== 0) v.push(`${name}: the next install failed: ${r.stderr}`);
      }
      v.push(...invariants(`${name} (next install)`, again ? [again.pgid] : [], before));
      if (!existsSync(p.image)) v.push(`${name}: no image after the next install`);
      const next = start(p.prepare);
      const r = await next.done;
      if (r.code !== 0) v.push(`${name}: the next start failed: ${r.stderr}`);
      record(name, v, `install/${step}`);
      return v;
    }

    it(
      "kill -9 at every install step, then the unit again: never a partial image, then installed",
      async () => {
        const violations: string[] = [];
        for (const step of INSTALL_STEPS) {
          for (const target of TARGETS) violations.push(...(await installFault(step, target)));
        }
        expect(violations).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    // A larger random sweep for local runs: VMFLAKE_FAULT_COUNT=500 VMFLAKE_FAULT_SEED=7 picks
    // that many (install step, target) faults, repeatable by seed; CI runs the full grid above.
    const sweepCount = Number(process.env.VMFLAKE_FAULT_COUNT ?? "0");
    it.runIf(sweepCount > 0)(
      `a random sweep of ${sweepCount} install faults (seed ${process.env.VMFLAKE_FAULT_SEED ?? "1"})`,
      async () => {
        let state = Number(process.env.VMFLAKE_FAULT_SEED ?? "1") >>> 0 || 1;
        // xorshift32: the same seed gives the same faults.
        const next = (n: number) => {
          state ^= state << 13;
          state >>>= 0;
          state ^= state >>> 17;
          state ^= state << 5;
          state >>>= 0;
          return state % n;
        };
        const violations: string[] = [];
        for (let i = 0; i < sweepCount; i++) {
          const step = INSTALL_STEPS[next(INSTALL_STEPS.length)]!;
          const target = TARGETS[next(TARGETS.length)]!;
          violations.push(...(await installFault(step, target)));
        }
        expect(violations).toEqual([]);
      },
      sweepCount * STEP_TIMEOUT_MS,
    );

    const GROW_STEPS = [
      "before-qemu-img-check",
      "before-qemu-img-info",
      "before-qemu-img-resize",
      "after-qemu-img-resize",
    ];

    it(
      "kill -9 at every grow step, then the start again: the image keeps its data and grows once",
      async () => {
        const violations: string[] = [];
        for (const step of GROW_STEPS) {
          for (const target of TARGETS) {
            const name = `grow/${step}/${target}`;
            reset();
            installedImage(SMALL);
            const before = { bystander: sha(p.bystander), image: { sha: "", grownOnly: true } };
            const { run, pid } = await startAt(p.prepare, step);
            const killed = await kill(run, pid, target);
            const v = invariants(name, [run.pgid], before);
            if (target === "tool") v.push(...namesCause(name, killed, false));
            const next = start(p.prepare);
            const r = await next.done;
            if (r.code !== 0) v.push(`${name}: the next start failed: ${r.stderr}`);
            v.push(...invariants(`${name} (next start)`, [next.pgid], before));
            if (virtualSize(p.image) !== DECLARED) v.push(`${name}: not grown by the next start`);
            record(name, v, name.slice(0, name.lastIndexOf("/")));
            violations.push(...v);
          }
        }
        expect(violations).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    /** A real QEMU holding the image open with the guest's QMP socket, as the guest unit's would. */
    async function qemuHolding(): Promise<Running> {
      rmSync(qmpSocket(), { force: true });
      const q = start([
        "qemu-system-x86_64",
        "-M",
        "none",
        "-nodefaults",
        "-display",
        "none",
        "-qmp",
        `unix:${qmpSocket()},server=on,wait=off`,
        "-blockdev",
        `driver=file,node-name=f,filename=${p.image}`,
        "-blockdev",
        "driver=qcow2,node-name=d,file=f",
      ]);
      let ended = false;
      void q.done.then(() => (ended = true));
      await waitUntil("QEMU's QMP socket", () => existsSync(qmpSocket()) || ended, STEP_TIMEOUT_MS);
      if (ended) throw new Error(`QEMU ended: ${(await q.done).stderr}`);
      return q;
    }
    const qmpSocket = () => p.stop[1]!;

    it(
      "kill -9 of the stop program, its socat or QEMU during a stop: the image is intact, QEMU starts again",
      async () => {
        const violations: string[] = [];
        mkdirSync(join(qmpSocket(), ".."), { recursive: true });
        for (const step of ["before-socat#1", "before-socat#2", "after-socat#2"]) {
          for (const target of [...TARGETS, "qemu"] as const) {
            const name = `stop/${step}/${target}`;
            reset();
            installedImage(DECLARED);
            const before = { bystander: sha(p.bystander) };
            const q = await qemuHolding();
            const { run, pid, go } = await startAt(p.stop, step, { MAINPID: String(q.pgid) });
            let killed: Result;
            if (target === "qemu") {
              // QEMU dies while the stop program waits at its step; then the program goes on.
              process.kill(q.pgid, "SIGKILL");
              await q.done;
              go();
              killed = await run.done;
            } else {
              // A power cut takes QEMU with it.
              if (target === "power") process.kill(q.pgid, "SIGKILL");
              killed = await kill(run, pid, target);
            }
            // systemd: SIGTERM to what is left of the cgroup once ExecStop returned, then SIGKILL.
            try {
              process.kill(q.pgid, "SIGTERM");
            } catch {
              // already gone
            }
            await q.done;
            const v = invariants(name, [run.pgid, q.pgid], before);
            if (target === "qemu" && killed.code !== 0) {
              v.push(`${name}: the stop program failed after QEMU died: ${killed.stderr}`);
            }
            // The next start: the grow step, then QEMU gets the image (no lock left behind).
            const pre = await start(p.prepare).done;
            if (pre.code !== 0) v.push(`${name}: the next start failed: ${pre.stderr}`);
            const again = await qemuHolding();
            const stopped = await start(p.stop, { MAINPID: String(again.pgid) }).done;
            if (stopped.code !== 0) v.push(`${name}: the next stop failed: ${stopped.stderr}`);
            await again.done;
            v.push(...invariants(`${name} (next start)`, [again.pgid], before));
            record(name, v, name.slice(0, name.lastIndexOf("/")));
            violations.push(...v);
          }
        }
        expect(violations).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    /** One fault outside the kill sweep: `body` injects it and returns what it found wrong. */
    async function fault(
      name: string,
      body: () => Promise<string[]>,
      step = name,
    ): Promise<string[]> {
      const v = await body();
      record(name, v, step);
      return v;
    }
    const bystanderSum = () => ({ bystander: sha(p.bystander) });
    const remount = (bytes: number) => sh("mount", ["-o", `remount,size=${bytes}`, p.state]);

    it(
      "a full file system during image creation, install and grow",
      async () => {
        const v: string[] = [];
        // Creation: the qcow2 metadata of the image-in-progress does not fit.
        v.push(
          ...(await fault("full/create", async () => {
            reset({ tmpfsBytes: 64 * 1024 });
            const before = bystanderSum();
            const run = start(p.install);
            const r = await run.done;
            const w = invariants("full/create", [run.pgid], before);
            if (r.code !== 1) w.push(`full/create: exit ${r.code}, not 1`);
            w.push(...namesCause("full/create", r, true));
            if (existsSync(p.image) || existsSync(p.work)) w.push("full/create: files left");
            // The next start names the missing image; with room again the unit installs.
            const pre = await start(p.prepare).done;
            if (pre.code !== 1 || !pre.stderr.includes("does not exist")) {
              w.push(`full/create: the next start did not name the missing image: ${pre.stderr}`);
            }
            remount(64 * 1024 * 1024);
            const again = start(p.install);
            if ((await again.done).code !== 0) w.push("full/create: no install once there is room");
            w.push(...invariants("full/create (room again)", [again.pgid], before));
            return w;
          })),
        );
        // Install: the image is created, the installer's writes do not fit.
        v.push(
          ...(await fault("full/install", async () => {
            reset({ tmpfsBytes: 768 * 1024 });
            const before = bystanderSum();
            const run = start(p.install);
            const r = await run.done;
            const w = invariants("full/install", [run.pgid], before);
            if (r.code !== 1) w.push(`full/install: exit ${r.code}, not 1`);
            w.push(...namesCause("full/install", r, true));
            if (existsSync(p.image) || existsSync(p.work)) w.push("full/install: files left");
            remount(64 * 1024 * 1024);
            const again = start(p.install);
            if ((await again.done).code !== 0)
              w.push("full/install: no install once there is room");
            w.push(...invariants("full/install (room again)", [again.pgid], before));
            return w;
          })),
        );
        // Grow: the file system is filled to the last byte before the start.
        v.push(
          ...(await fault("full/grow", async () => {
            reset({ tmpfsBytes: 4 * 1024 * 1024 });
            installedImage(SMALL);
            const filler = join(p.state, "filler");
            spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k"], { encoding: "utf8" });
            const before = { ...bystanderSum(), image: { sha: "", grownOnly: true } };
            const run = start(p.prepare);
            const r = await run.done;
            const w = invariants("full/grow", [run.pgid], before);
            w.push(...namesCause("full/grow", r, false));
            rmSync(filler);
            const next = await start(p.prepare).done;
            if (next.code !== 0) w.push(`full/grow: the next start failed: ${next.stderr}`);
            if (virtualSize(p.image) !== DECLARED)
              w.push("full/grow: not grown once there is room");
            w.push(...invariants("full/grow (room again)", [], before));
            return w;
          })),
        );
        reset();
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "two installs at once, a start and a stop during an install, two starts at once",
      async () => {
        const v: string[] = [];
        v.push(
          ...(await fault("race/install+install", async () => {
            reset();
            const before = bystanderSum();
            const a = await startAt(p.install, "installer-started");
            const second = start(p.install);
            const b = await second.done;
            const w: string[] = [];
            if (b.code !== 1 || !b.stderr.includes("another install")) {
              w.push(`race/install+install: the second install was not refused: ${b.stderr}`);
            }
            if (!existsSync(p.work)) w.push("race/install+install: the first install's work went");
            a.go();
            if ((await a.run.done).code !== 0)
              w.push("race/install+install: the first install failed");
            w.push(...invariants("race/install+install", [a.run.pgid, second.pgid], before));
            if (!existsSync(p.image)) w.push("race/install+install: no image");
            return w;
          })),
        );
        v.push(
          ...(await fault("race/start-during-install", async () => {
            reset();
            const before = bystanderSum();
            const a = await startAt(p.install, "installer-wrote");
            const pre = start(p.prepare);
            const r = await pre.done;
            const w: string[] = [];
            if (r.code !== 1 || !r.stderr.includes("does not exist")) {
              w.push(`race/start-during-install: the start did not refuse: ${r.stderr}`);
            }
            a.go();
            if ((await a.run.done).code !== 0) w.push("race/start-during-install: install failed");
            w.push(...invariants("race/start-during-install", [a.run.pgid, pre.pgid], before));
            return w;
          })),
        );
        v.push(
          ...(await fault("race/stop-during-install", async () => {
            reset();
            const before = bystanderSum();
            const a = await startAt(p.install, "installer-wrote");
            const stop = start(p.stop);
            const r = await stop.done;
            const w: string[] = [];
            if (r.code !== 0 || !r.stdout.includes("not running")) {
              w.push(`race/stop-during-install: ${r.code} ${r.stdout} ${r.stderr}`);
            }
            a.go();
            if ((await a.run.done).code !== 0) w.push("race/stop-during-install: install failed");
            w.push(...invariants("race/stop-during-install", [a.run.pgid, stop.pgid], before));
            return w;
          })),
        );
        v.push(
          ...(await fault("race/start+start", async () => {
            reset();
            installedImage(SMALL);
            const before = { ...bystanderSum(), image: { sha: "", grownOnly: true } };
            const runs = [start(p.prepare), start(p.prepare)];
            const results = await Promise.all(runs.map((r) => r.done));
            const w = invariants(
              "race/start+start",
              runs.map((r) => r.pgid),
              before,
            );
            for (const r of results) w.push(...namesCause("race/start+start", r, false));
            // prepare-disk takes the image's lock: the second run waits for the first, and then
            // finds the image grown already.
            results.forEach((r, i) => {
              if (r.code !== 0) w.push(`race/start+start: start ${i + 1} failed: ${r.stderr}`);
            });
            if (virtualSize(p.image) !== DECLARED) w.push("race/start+start: not grown");
            // Two QEMUs on one image: the second is refused by the image lock, the first keeps it.
            const q = await qemuHolding();
            const twin = start([
              "qemu-system-x86_64",
              "-M",
              "none",
              "-nodefaults",
              "-display",
              "none",
              "-blockdev",
              `driver=file,node-name=f,filename=${p.image}`,
              "-blockdev",
              "driver=qcow2,node-name=d,file=f",
            ]);
            const t = await twin.done;
            if (t.code === 0 || !/lock/.test(t.stderr))
              w.push(`race/start+start: a second QEMU got the image: ${t.stderr}`);
            await start(p.stop, { MAINPID: String(q.pgid) }).done;
            await q.done;
            w.push(...invariants("race/start+start (QEMU)", [q.pgid, twin.pgid], before));
            return w;
          })),
        );
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "a stale QMP socket, a lock still held, a leftover work directory",
      async () => {
        const v: string[] = [];
        v.push(
          ...(await fault("stale/qmp-socket", async () => {
            reset();
            installedImage(DECLARED);
            const before = { ...bystanderSum(), image: { sha: sha(p.image), grownOnly: false } };
            // A socket file whose listener was killed (a QEMU that was SIGKILLed leaves one).
            rmSync(qmpSocket(), { force: true });
            const listener = start(["socat", `UNIX-LISTEN:${qmpSocket()}`, "/dev/null"]);
            await waitUntil(
              "the listener's socket",
              () => existsSync(qmpSocket()),
              STEP_TIMEOUT_MS,
            );
            killGroup(listener.pgid);
            await listener.done;
            const w: string[] = [];
            for (const env of [{}, { MAINPID: String(listener.pgid) }]) {
              const stop = start(p.stop, env);
              const r = await stop.done;
              if (r.code !== 0 || !r.stdout.includes("not running")) {
                w.push(
                  `stale/qmp-socket: ${JSON.stringify(env)}: ${r.code} ${r.stdout} ${r.stderr}`,
                );
              }
              w.push(...invariants("stale/qmp-socket", [stop.pgid], before));
            }
            // And the guest starts over it: QEMU replaces a socket file nobody listens on.
            const q = await qemuHolding();
            await start(p.stop, { MAINPID: String(q.pgid) }).done;
            await q.done;
            return w;
          })),
        );
        v.push(
          ...(await fault("stale/lock-held", async () => {
            reset();
            const before = bystanderSum();
            // What an orphaned installer VM of a killed install does: hold the guest directory's lock.
            // The holder waits for the lock (no -n): the check below takes it for a moment, and a
            // holder that gave up then would leave nobody holding it.
            const holder = start(["flock", p.state, "sleep", "3600"]);
            await waitUntil(
              "the lock to be held",
              () => spawnSync("flock", ["-n", p.state, "true"]).status !== 0,
              STEP_TIMEOUT_MS,
            );
            const run = start(p.install);
            const r = await run.done;
            const w: string[] = [];
            if (r.code !== 1 || !r.stderr.includes("another install"))
              w.push(`stale/lock-held: ${r.stderr}`);
            if (existsSync(p.image)) w.push("stale/lock-held: an image under someone else's lock");
            killGroup(holder.pgid);
            await holder.done;
            const again = start(p.install);
            if ((await again.done).code !== 0)
              w.push("stale/lock-held: no install once the lock is free");
            w.push(...invariants("stale/lock-held", [run.pgid, again.pgid, holder.pgid], before));
            return w;
          })),
        );
        v.push(
          ...(await fault("stale/work-directory", async () => {
            reset();
            const before = bystanderSum();
            // A cut install's work directory: a half-written image-in-progress and an old seed.
            mkdirSync(join(p.work, "seed"), { recursive: true });
            writeFileSync(join(p.work, "disk.qcow2"), randomBytes(4096));
            writeFileSync(
              join(p.work, "seed", "vmflake-install.conf"),
              "nonce=0123456789abcdef0123456789abcdef\n",
            );
            const run = start(p.install);
            const r = await run.done;
            const w = invariants("stale/work-directory", [run.pgid], before);
            if (r.code !== 0) w.push(`stale/work-directory: ${r.stderr}`);
            if (existsSync(p.work)) w.push("stale/work-directory: still there");
            return w;
          })),
        );
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "a corrupted image: the start refuses naming the cause, the install leaves it, the file is byte-identical",
      async () => {
        const v: string[] = [];
        const corruptions: [string, () => void][] = [
          ["corrupt/truncated", () => truncateSync(p.image, 300_000)],
          [
            "corrupt/bad-header",
            () => {
              const fd = openSync(p.image, "r+");
              writeSync(fd, Buffer.from("XXXX"), 0, 4, 0);
              closeSync(fd);
            },
          ],
          [
            "corrupt/l1-table",
            () => {
              // The L1 table's offset (header bytes 40..47) pointing past the end of the file.
              const fd = openSync(p.image, "r+");
              writeSync(fd, Buffer.from([0, 0, 0, 0x10, 0, 0, 0, 0]), 0, 8, 40);
              closeSync(fd);
            },
          ],
        ];
        for (const [name, corrupt] of corruptions) {
          v.push(
            ...(await fault(name, async () => {
              reset();
              installedImage(SMALL);
              corrupt();
              const sum = sha(p.image);
              const w: string[] = [];
              const pre = start(p.prepare);
              const r = await pre.done;
              if (
                r.code !== 1 ||
                !/refusing to start|cannot read/.test(r.stderr) ||
                !r.stderr.includes(p.image)
              ) {
                w.push(`${name}: the start did not refuse clearly: ${r.code} ${r.stderr}`);
              }
              const install = start(p.install);
              const i = await install.done;
              if (i.code !== 0 || !i.stdout.includes("never overwritten"))
                w.push(`${name}: install: ${i.stderr}`);
              if (sha(p.image) !== sum) w.push(`${name}: the file changed`);
              for (const pgid of [pre.pgid, install.pgid]) {
                if (groupMembers(pgid).length > 0) w.push(`${name}: processes left`);
              }
              return w;
            })),
          );
        }
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "an image that appears while its install runs (a restore, another process) is never replaced",
      async () => {
        const v: string[] = [];
        for (const step of ["installer-wrote", "after-sync-image"]) {
          const name = `appears/${step}`;
          v.push(
            ...(await fault(name, async () => {
              reset();
              const before = bystanderSum();
              const a = await startAt(p.install, step);
              // Theirs: a complete image of its own (the installed pattern, so only the checksum
              // tells it from the install's).
              installedImage(SMALL);
              const theirs = sha(p.image);
              a.go();
              const r = await a.run.done;
              const w = invariants(name, [a.run.pgid], {
                ...before,
                image: { sha: theirs, grownOnly: false },
              });
              if (r.code !== 1 || !r.stderr.includes(`could not publish the image as ${p.image}`)) {
                w.push(`${name}: the install did not refuse to publish: ${r.code} ${r.stderr}`);
              }
              w.push(...namesCause(name, r, true));
              if (existsSync(p.work)) w.push(`${name}: the work directory was left`);
              return w;
            })),
          );
        }
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "kill -9 of the real installer VM while it runs, of the script, and a power cut",
      async () => {
        const v: string[] = [];
        for (const target of TARGETS) {
          const name = `install/qemu-running/${target}`;
          v.push(
            ...(await fault(
              name,
              async () => {
                reset();
                const before = bystanderSum();
                // The unit's own command line: real QEMU boots the (unbootable) CD and waits there.
                const run = start(p.installReal);
                let ended = false;
                void run.done.then(() => (ended = true));
                const inProgress = join(p.work, "disk.qcow2");
                // QEMU has the image-in-progress open once one of its descriptors is that file
                // (read from /proc: probing with qemu-img would take a lock QEMU can trip over).
                const qemuPid = () =>
                  groupMembers(run.pgid).find((pid) => {
                    try {
                      if (
                        !readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith(
                          "qemu-system-x86_64\0",
                        )
                      ) {
                        return false;
                      }
                      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
                        try {
                          return readlinkSync(`/proc/${pid}/fd/${fd}`) === inProgress;
                        } catch {
                          return false;
                        }
                      });
                    } catch {
                      return false;
                    }
                  });
                await waitUntil(
                  "QEMU to hold the image-in-progress",
                  () => ended || qemuPid() !== undefined,
                  STEP_TIMEOUT_MS,
                );
                const qemu = qemuPid();
                if (ended || qemu === undefined) {
                  return [`${name}: the install ended early: ${(await run.done).stderr}`];
                }
                const r = await kill(run, Number(qemu), target);
                const w = invariants(name, [run.pgid], before);
                if (target === "tool") {
                  w.push(...namesCause(name, r, true));
                  if (!r.stderr.includes("QEMU was killed")) w.push(`${name}: ${r.stderr}`);
                  if (existsSync(p.work)) w.push(`${name}: the work directory was left`);
                }
                const again = start(p.install);
                const a = await again.done;
                if (a.code !== 0) w.push(`${name}: the next install failed: ${a.stderr}`);
                w.push(...invariants(`${name} (next install)`, [again.pgid], before));
                return w;
              },
              "install/qemu-running",
            )),
          );
        }
        expect(v).toEqual([]);
      },
      30 * STEP_TIMEOUT_MS,
    );

    it(
      "kill -9 at each write and sync of qemu-img resize and of qemu-img create",
      async () => {
        const v: string[] = [];
        for (const [tool, syscall] of [
          ["resize", "pwrite64"],
          ["resize", "fdatasync"],
          ["create", "pwrite64"],
          ["create", "fdatasync"],
        ] as const) {
          // N = 1, 2, … until the tool gets through (it has fewer such calls than N).
          for (let n = 1; n <= 64; n++) {
            const name = `${tool === "resize" ? "grow" : "install"}/during-qemu-img-${tool}/${syscall}#${n}`;
            reset();
            if (tool === "resize") installedImage(SMALL);
            const before = {
              ...bystanderSum(),
              ...(tool === "resize" ? { image: { sha: "", grownOnly: true } } : {}),
            };
            const run = start(tool === "resize" ? p.prepare : p.install, {
              VMFLAKE_FAULT_AT: `during-qemu-img-${tool}`,
              VMFLAKE_FAULT_SYSCALL: `${syscall}:${n}`,
            });
            const r = await run.done;
            if (r.code === 0) break;
            const w = invariants(name, [run.pgid], before);
            w.push(...namesCause(name, r, tool === "create"));
            // The unit again, as systemd would: the install (if no image), then the start.
            if (!existsSync(p.image)) {
              const again = await start(p.install).done;
              if (again.code !== 0) w.push(`${name}: the next install failed: ${again.stderr}`);
            }
            const next = await start(p.prepare).done;
            if (next.code !== 0) w.push(`${name}: the next start failed: ${next.stderr}`);
            w.push(...invariants(`${name} (next start)`, [], before));
            if (virtualSize(p.image) !== DECLARED) w.push(`${name}: not at the declared size`);
            record(name, w);
            v.push(...w);
            if (n === 64) v.push(`${name}: still killed at call 64`);
          }
        }
        expect(v).toEqual([]);
      },
      60 * STEP_TIMEOUT_MS,
    );
  },
  { root: true },
);
