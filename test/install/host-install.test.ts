/**
 * The host side of the first install, with real parts: build.ts emits the flake, real Nix
 * evaluates the host module and the installer module (stand-in nixpkgs) and builds their
 * programs (shellcheck runs), and each case runs the install unit's own `ExecStart`, as rendered
 * (argument for argument, no shell in between), as the guest's unprivileged system user with the
 * unit's umask, in the state directory systemd would create, against Debian's QEMU (TCG stands in
 * for KVM). A network install gets its tap from the guest's own tap unit, run in a network
 * namespace of the test's.
 *
 * The installer ISO is the one stand-in: a Debian kernel and busybox initramfs booted from a CD
 * (support/standin-iso.ts), which the stand-in nixpkgs presents as the flake's
 * `installer-<host>` package, so the unit boots it from `vmflake.installer.iso`. For the success
 * cases it runs the REAL install service of the emitted installer module; the failure cases use
 * ISOs that break the protocol on purpose.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { INSTALL_OK } from "../../lib/runtime/install-protocol.ts";
import { waitUntil, warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { inspectImage, qemuImgCheck } from "./support/image.ts";
import {
  emitFlake,
  evalFlake,
  installUnits,
  optionValue,
  tapUnitsByOwner,
  type InstallUnit,
  type Rendered,
} from "./support/install-flake.ts";
import {
  addSystemUser,
  createNetns,
  makeStateDirectory,
  removeSystemUser,
  runUnitExec,
  type Netns,
  type ScriptResult,
  type SystemUser,
} from "./support/run-as.ts";
import {
  hasIsolinux,
  standInIso,
  standInIsoTools,
  standInMarkers,
  type StandInBehaviour,
} from "./support/standin-iso.ts";

const TOOLS = [
  ...qemuKitTools,
  ...standInIsoTools,
  "nix-instantiate",
  "nix-build",
  "ip",
  "setpriv",
  "useradd",
  "debugfs",
  "sha256sum",
];

const HOST = "insttest";

/** One install under TCG (boot, mkfs, power-off), on a loaded two-core machine. */
const INSTALL_TIMEOUT_MS = 600_000;

/** The exact line in install-guest.sh that publishes the image (link(2): never over a file). */
const PUBLISH_LINE = 'if ! ln -T -- "$work/disk.qcow2" "$image"; then';

/**
 * Stands between install-guest and QEMU for the publish race: runs QEMU with its arguments
 * unchanged, then announces that QEMU is gone and waits until the test says go, so another
 * process can create the image after install-guest checked for it and before it publishes.
 */
const RACE_GATE = `#!/bin/sh
gate=$1
shift
status=0
"$@" || status=$?
: >"$gate/qemu-exited"
while [ ! -e "$gate/go" ]; do sleep 0.1; done
exit "$status"
`;

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

describeWith(
  hasIsolinux() ? TOOLS : [...TOOLS, "/usr/lib/ISOLINUX/isolinux.bin"],
  "the install unit, run for real as the guest's user (stand-in installer ISO)",
  () => {
    const id = randomBytes(3).toString("hex");
    const stateRoot = `/var/lib/vmflake-install-${id}`;
    /** Guest names by case; offline guests need no network. */
    const g = {
      net: `net-${id}`,
      offline: `off-${id}`,
      silent: `silent-${id}`,
      nonce: `nonce-${id}`,
      reported: `failing-${id}`,
      hang: `hang-${id}`,
      pairA: `pair-a-${id}`,
      pairB: `pair-b-${id}`,
      present: `present-${id}`,
      race: `race-${id}`,
      raceMv: `race-mv-${id}`,
    } as const;
    const names = Object.values(g);
    const dir = tempDir("vmflake-install-");
    /** Programs the guests' users run (the race gate, a patched copy): readable by all. */
    let shared = "";
    let out = "";
    const users = new Map<string, SystemUser>();
    let netns: Netns | undefined;
    /** The rendering with each stand-in ISO. */
    const rendered = new Map<string, Rendered>();
    const isos = new Map<string, string>();
    /** The hang case's install, started at the end of beforeAll. */
    let hanging: Promise<ScriptResult> | undefined;

    beforeAll(async () => {
      shared = mkdtempSync(join(tmpdir(), "vmflake-install-bin-"));
      chmodSync(shared, 0o755);
      const guests = names
        .map((name) => {
          const offline = name === g.net ? "" : ", offlineInstall: true";
          return `${JSON.stringify(name)}: { memory: "256M", disk: "1G", installTimeout: 300${offline} }`;
        })
        .join(",\n");
      out = await emitFlake(
        dir,
        `{ hosts: { ${HOST}: {
          lan: { nic: "eth0", bridge: "br0" },
          stateDir: ${JSON.stringify(stateRoot)},
          stateVersion: "26.05",
          guests: { ${guests} },
        } } }`,
      );
      // The real install service, as the installer module renders it, for the success cases.
      const first = installUnits(out, HOST, names);
      const exec = first.installer.execStart;
      const service = (nixosInstall: "record" | "fail"): StandInBehaviour => ({
        kind: "service",
        execStart: exec,
        storePaths: [dirname(dirname(exec[0]!)), ...first.installer.storeContents],
        files: Object.entries(first.installer.etcLinks).map(([path, target]) => ({
          path,
          symlink: target,
        })),
        nixosInstall,
      });
      const behaviours: Record<string, StandInBehaviour> = {
        service: service("record"),
        failing: service("fail"),
        silent: { kind: "silent" },
        "wrong-nonce": { kind: "wrong-nonce" },
        hang: { kind: "hang" },
      };
      for (const [name, behaviour] of Object.entries(behaviours)) {
        const iso = standInIso(behaviour);
        isos.set(name, iso);
        rendered.set(name, installUnits(out, HOST, names, iso));
      }
      spawnSync("groupadd", ["-f", "--system", "kvm"]);
      for (const name of names) {
        const unit = first.units[name]!;
        const user = addSystemUser(unit.user);
        users.set(name, user);
        makeStateDirectory(
          `/var/lib/${unit.stateDirectory}`,
          user,
          Number.parseInt(unit.stateDirectoryMode, 8),
        );
      }
      // The network install's tap, made by the guest's own tap unit (as root, as systemd runs
      // it), in a namespace that has the LAN bridge the unit names.
      const tapUnit = tapUnitsByOwner(out, HOST)[users.get(g.net)!.name]!;
      netns = createNetns(`vmf6-${id}`);
      netns.run(["ip", "link", "add", tapUnit.execStart[5]!, "type", "bridge"]);
      netns.run(tapUnit.execStart);
      // The hang case waits for the unit's own install timeout (its rendered value, never
      // shortened: a shorter one would race the stand-in's boot on a loaded machine), so it runs
      // alongside the other cases; its test awaits it.
      hanging = startInstall(g.hang, "hang");
      hanging.catch(() => undefined);
    }, 900_000);

    afterAll(async () => {
      await hanging?.catch(() => undefined);
      netns?.remove();
      for (const user of users.values()) removeSystemUser(user.name);
      rmSync(stateRoot, { recursive: true, force: true });
      if (shared !== "") rmSync(shared, { recursive: true, force: true });
    }, INSTALL_TIMEOUT_MS);

    const paths = (name: string) => {
      const state = join(stateRoot, name);
      return {
        state,
        image: join(state, "disk.qcow2"),
        work: join(state, "install.tmp"),
        log: join(state, "install.log"),
      };
    };
    const logOf = (name: string): string =>
      existsSync(paths(name).log) ? readFileSync(paths(name).log, "utf8").replace(/\r/g, "") : "";
    const unitOf = (name: string, iso: string): InstallUnit => rendered.get(iso)!.units[name]!;

    /** Starts guest `name`'s install unit ExecStart as rendered with the stand-in ISO `iso`. */
    function startInstall(
      name: string,
      iso: string,
      edit = (argv: string[]) => argv,
    ): Promise<ScriptResult> {
      const unit = unitOf(name, iso);
      return runUnitExec(edit([...unit.argv]), users.get(name)!, {
        umask: unit.umask,
        ...(name === g.net ? { netns: netns!.name } : {}),
      });
    }

    /** {@link startInstall}, awaited; QEMU said nothing deprecated (its stderr is the unit's). */
    async function install(
      name: string,
      iso: string,
      edit = (argv: string[]) => argv,
    ): Promise<ScriptResult> {
      const r = await startInstall(name, iso, edit);
      expect(warningLines(r.stderr)).toEqual([]);
      return r;
    }

    /** No process of this machine still works in the guest's work directory. */
    function processesUsing(work: string): string[] {
      const found: string[] = [];
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          if (cmd.includes(work)) found.push(`${pid}: ${cmd.replaceAll("\0", " ")}`);
        } catch {
          // gone meanwhile
        }
      }
      return found;
    }

    function expectFailedCleanly(name: string, r: ScriptResult, why: RegExp): void {
      const p = paths(name);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toContain(`the installer's console log is kept in ${p.log}`);
      expect(existsSync(p.image)).toBe(false);
      expect(existsSync(p.work)).toBe(false);
      expect(logOf(name)).toMatch(/=== vmflake: install of guest \S+ failed: /);
      expect(processesUsing(p.work)).toEqual([]);
    }

    it("the unit boots the host's installer ISO, and hands the flake only to a network install", () => {
      const r = rendered.get("service")!;
      // vmflake.installer.iso: the ISO file in vmflake.installer.package (installer-<host>),
      // which here is the stand-in ISO built by the test.
      expect(r.iso).toBe(`${r.isoPackage}/iso/vmflake-installer-${HOST}.iso`);
      expect(realpathSync(r.iso)).toBe(realpathSync(isos.get("service")!));
      for (const name of names) {
        const argv = r.units[name]!.argv;
        expect(optionValue(argv, "--iso")).toBe(r.iso);
        expect(optionValue(argv, "--guest")).toBe(name);
        expect(optionValue(argv, "--image")).toBe(paths(name).image);
        expect(optionValue(argv, "--work")).toBe(paths(name).work);
        expect(optionValue(argv, "--log")).toBe(paths(name).log);
        // QEMU (the stand-in's qemu-kvm) comes after "--", named as the program it is.
        expect(argv[argv.indexOf("--") + 1]).toMatch(/^\/nix\/store\/[^/]+\/bin\/qemu-kvm$/);
        if (name === g.net) {
          expect(statSync(join(optionValue(argv, "--flake")!, "flake.nix")).isFile()).toBe(true);
        } else {
          expect(optionValue(argv, "--flake")).toBeUndefined();
        }
      }
      // Each stand-in ISO reaches the units through the package, nothing else changes.
      expect(realpathSync(rendered.get("hang")!.iso)).toBe(realpathSync(isos.get("hang")!));
      expect(unitOf(g.hang, "hang").argv.filter((a) => !a.includes("/nix/store/"))).toEqual(
        unitOf(g.hang, "service").argv.filter((a) => !a.includes("/nix/store/")),
      );
    });

    it(
      "network install: the image appears, holds what the installer wrote, and checks clean",
      async () => {
        const p = paths(g.net);
        const r = await install(g.net, "service");
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`installed guest ${g.net} in \\d+ s: ${p.image}`));
        expect(existsSync(p.work)).toBe(false);
        const st = statSync(p.image);
        expect(st.uid).toBe(users.get(g.net)!.uid);
        expect(st.mode & 0o777).toBe(0o640);
        expect(qemuImgCheck(p.image)).toMatchObject({ code: 0 });
        // Exactly one marker line, with a 32-digit nonce, in this attempt's log.
        const markers = logOf(g.net)
          .split("\n")
          .filter((l) => l.startsWith(INSTALL_OK));
        expect(markers).toHaveLength(1);
        expect(markers[0]).toMatch(/^INSTALL_OK [0-9a-f]{32}$/);
        inspectImage(p.image, (img) => {
          expect(img.table.label).toBe("dos");
          expect(img.table.partitions).toHaveLength(1);
          expect(img.table.partitions[0]).toMatchObject({
            start: 2048,
            type: "83",
            bootable: true,
          });
          expect(img.filesystem).toMatchObject({ TYPE: "ext4", LABEL: "nixos" });
          // nixos-install was asked for the guest's declared system from the seed's flake...
          expect(img.read("/vmflake-stand-in/args")?.trim()).toMatch(
            new RegExp(
              `^--root /mnt --flake path:/tmp/[^ ]+#${g.net} --no-root-passwd --no-channel-copy$`,
            ),
          );
          // ... and that flake is the emitted one: flake.nix and modules/, nothing else of the repo.
          expect(img.read("/vmflake-stand-in/flake/flake.nix")).toBe(
            readFileSync(join(out, "flake.nix"), "utf8"),
          );
          expect(img.list("/vmflake-stand-in/flake")).toEqual(["flake.nix", "modules"]);
          expect(img.read(`/vmflake-stand-in/flake/modules/${HOST}/${g.net}.nix`)).toBe(
            readFileSync(join(out, "modules", HOST, `${g.net}.nix`), "utf8"),
          );
        });
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "offline install: nixos-install --system with the closure carried in the ISO",
      async () => {
        const p = paths(g.offline);
        const r = await install(g.offline, "service");
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const toplevel = evalFlake<string>(
          out,
          HOST,
          `"\${self.nixosConfigurations.${JSON.stringify(g.offline)}.config.system.build.toplevel}"`,
        );
        inspectImage(p.image, (img) => {
          expect(img.read("/vmflake-stand-in/args")?.trim()).toBe(
            `--root /mnt --system ${toplevel} --no-root-passwd --no-channel-copy`,
          );
          expect(img.read("/vmflake-stand-in/system")).toBe(readFileSync(toplevel, "utf8"));
        });
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "no marker: no image, the log is kept, the unit fails naming the log",
      async () => {
        const r = await install(g.silent, "silent");
        expectFailedCleanly(g.silent, r, /the installer ended without reporting success/);
        expect(logOf(g.silent)).toContain(standInMarkers.silent);
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "a marker with another nonce is a failure",
      async () => {
        const r = await install(g.nonce, "wrong-nonce");
        expectFailedCleanly(g.nonce, r, /the installer ended without reporting success/);
        expect(logOf(g.nonce)).toMatch(/^INSTALL_OK [0-9a-f]{32}$/m);
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "a failure the installer reports is the unit's message",
      async () => {
        const r = await install(g.reported, "failing");
        expectFailedCleanly(
          g.reported,
          r,
          /the installer reported: nixos-install --flake \.\.\.#\S+ failed|the installer reported: nixos-install --system \S+ failed/,
        );
        expect(logOf(g.reported)).toContain("cannot reach the binary cache");
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "hang: the timeout stops QEMU, no image, nothing left running",
      async () => {
        // Started by beforeAll, with the unit's own timeout (installTimeout).
        const seconds = optionValue(unitOf(g.hang, "hang").argv, "--timeout");
        expect(seconds).toBe("300");
        const r = await hanging!;
        expect(warningLines(r.stderr)).toEqual([]);
        expectFailedCleanly(
          g.hang,
          r,
          new RegExp(`the installer did not finish within ${seconds} s, so QEMU was stopped`),
        );
        expect(logOf(g.hang)).toContain(standInMarkers.hanging);
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "two guests installing at once do not collide",
      async () => {
        const [a, b] = await Promise.all([
          install(g.pairA, "service"),
          install(g.pairB, "service"),
        ]);
        expect([a.code, b.code]).toEqual([0, 0]);
        const nonce = (name: string) => /^INSTALL_OK ([0-9a-f]{32})$/m.exec(logOf(name))?.[1];
        expect(nonce(g.pairA)).toBeDefined();
        expect(nonce(g.pairA)).not.toBe(nonce(g.pairB));
        // Each image holds its own guest's system, each log only its own install.
        for (const [name, other] of [
          [g.pairA, g.pairB],
          [g.pairB, g.pairA],
        ] as const) {
          expect(qemuImgCheck(paths(name).image).code).toBe(0);
          inspectImage(paths(name).image, (img) => {
            expect(img.read("/vmflake-stand-in/args")).toContain(`-nixos-system-${name}-stand-in`);
          });
          expect(logOf(name)).not.toContain(other);
        }
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "an image already present: nothing happens and it is left alone",
      async () => {
        const p = paths(g.present);
        const user = users.get(g.present)!;
        writeFileSync(p.image, "an existing guest disk\n");
        spawnSync("chown", [`${user.uid}:${user.gid}`, p.image]);
        const before = statSync(p.image);
        const r = await install(g.present, "service");
        expect(r.code).toBe(0);
        expect(r.stdout).toContain("nothing to do (an image is never overwritten)");
        expect(readFileSync(p.image, "utf8")).toBe("an existing guest disk\n");
        expect(statSync(p.image).mtimeMs).toBe(before.mtimeMs);
        expect(existsSync(p.work)).toBe(false);
        // QEMU never ran: its console chardev (append=on) would have created the log.
        expect(existsSync(p.log)).toBe(false);
        // And the unit would not even start: its condition is the image's absence.
        expect(unitOf(g.present, "service").condition).toBe(`!${p.image}`);
      },
      INSTALL_TIMEOUT_MS,
    );

    /**
     * The install-guest program for the publish race: the built one, or a copy (never the
     * repository's file) that publishes with `mv -f`, which replaces whatever is at the image's
     * path; the race test must catch that copy.
     */
    function publishVariant(program: string, variant: "ln -T" | "mv -f"): string {
      if (variant === "ln -T") return program;
      const text = readFileSync(program, "utf8");
      expect(text.split(PUBLISH_LINE)).toHaveLength(2);
      const copy = join(shared, "mv-f", "vmflake-install-guest");
      mkdirSync(dirname(copy), { recursive: true, mode: 0o755 });
      writeFileSync(
        copy,
        text.replace(PUBLISH_LINE, 'if ! mv -f -- "$work/disk.qcow2" "$image"; then'),
        { mode: 0o755 },
      );
      return copy;
    }

    it.each([
      { variant: "ln -T", guest: g.race, what: "the built install-guest" },
      { variant: "mv -f", guest: g.raceMv, what: "a copy publishing with mv -f (must be caught)" },
    ] as const)(
      "an image that appears while the install runs is never replaced: $what",
      async ({ variant, guest }) => {
        const p = paths(guest);
        const user = users.get(guest)!;
        const gate = join(shared, `gate-${guest}`);
        mkdirSync(gate, { mode: 0o755 });
        chownSync(gate, user.uid, user.gid);
        const gateProgram = join(shared, "race-gate");
        writeFileSync(gateProgram, RACE_GATE, { mode: 0o755 });
        const running = install(guest, "service", (argv) => {
          const qemuAt = argv.indexOf("--") + 1;
          return [
            publishVariant(argv[0]!, variant),
            ...argv.slice(1, qemuAt),
            gateProgram,
            gate,
            ...argv.slice(qemuAt),
          ];
        });
        let done = false;
        void running.finally(() => (done = true));
        await waitUntil(
          "the installer VM to have exited",
          () => existsSync(join(gate, "qemu-exited")) || done,
          INSTALL_TIMEOUT_MS - 60_000,
        );
        expect(done).toBe(false);
        // Another process creates the guest's image after install-guest found none.
        const theirs = Buffer.concat([
          Buffer.from("an image another process put there\n"),
          randomBytes(64 * 1024),
        ]);
        writeFileSync(p.image, theirs, { mode: 0o640 });
        chownSync(p.image, user.uid, user.gid);
        const before = sha256File(p.image);
        writeFileSync(join(gate, "go"), "");
        const r = await running;
        // The installer itself succeeded: only publishing is left to refuse.
        expect(logOf(guest)).toMatch(/^INSTALL_OK [0-9a-f]{32}$/m);
        const violations: string[] = [];
        if (r.code !== 1) violations.push(`the install exited ${r.code}, not 1`);
        if (!existsSync(p.image) || sha256File(p.image) !== before) {
          violations.push(`the file at ${p.image} was replaced`);
        }
        if (!r.stderr.includes(`could not publish the image as ${p.image}`)) {
          violations.push("no message that the image could not be published");
        }
        if (existsSync(p.work)) violations.push(`${p.work} was left behind`);
        if (processesUsing(p.work).length > 0) violations.push("processes left running");
        if (variant === "ln -T") {
          expect(violations).toEqual([]);
          expect(logOf(guest)).toMatch(/=== vmflake: install of guest \S+ failed: /);
          expect(r.stderr).toContain(`the installer's console log is kept in ${p.log}`);
        } else {
          // The test bites: publishing with mv -f would pass none of its checks.
          expect(violations).toEqual([
            `the install exited 0, not 1`,
            `the file at ${p.image} was replaced`,
            "no message that the image could not be published",
          ]);
        }
      },
      INSTALL_TIMEOUT_MS,
    );

    it(
      "a second attempt after a failure starts clean and succeeds, the old log kept",
      async () => {
        const before = logOf(g.silent);
        const saved = join(dir, "silent.log");
        copyFileSync(paths(g.silent).log, saved);
        const r = await install(g.silent, "service");
        expect(r.code).toBe(0);
        expect(logOf(g.silent).startsWith(before)).toBe(true);
        expect(logOf(g.silent)).toContain("succeeded");
      },
      INSTALL_TIMEOUT_MS,
    );
  },
  { root: true },
);
