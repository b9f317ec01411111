/**
 * The host side of the first install, with real parts: build.ts emits the flake, real
 * Nix evaluates the host module and the installer module (stand-in nixpkgs) and builds their
 * scripts (shellcheck runs), and each case runs the install unit's own `script`, as rendered, as
 * the guest's unprivileged system user in the state directory systemd would create, against
 * Debian's QEMU (TCG stands in for KVM).
 *
 * The installer ISO is the one stand-in: a Debian kernel and busybox initramfs booted from a CD
 * (support/standin-iso.ts). For the success cases it runs the REAL install service of the emitted
 * installer module; the failure cases use ISOs that break the protocol on purpose.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { INSTALL_OK } from "../../lib/runtime/install-protocol.ts";
import { warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { inspectImage, qemuImgCheck } from "./support/image.ts";
import { emitFlake, evalFlake, installUnits, type InstallUnit } from "./support/install-flake.ts";
import {
  addSystemUser,
  createNetns,
  makeStateDirectory,
  removeSystemUser,
  runUnitScript,
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
    } as const;
    const names = Object.values(g);
    const dir = tempDir("vmflake-install-");
    let out = "";
    const users = new Map<string, SystemUser>();
    let netns: Netns | undefined;
    let tapOfNet = "";
    /** The units as rendered with each stand-in ISO. */
    const rendered = new Map<string, Record<string, InstallUnit>>();

    beforeAll(async () => {
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
      const exec = first.installer.execStart.split(" ");
      const service = (nixosInstall: "record" | "fail"): StandInBehaviour => ({
        kind: "service",
        execStart: exec,
        storePaths: [exec[0]!.replace(/\/bin\/[^/]+$/, ""), ...first.installer.storeContents],
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
        rendered.set(name, installUnits(out, HOST, names, standInIso(behaviour)).units);
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
      tapOfNet = evalFlake<string>(
        out,
        HOST,
        `builtins.head (builtins.filter (t: (host.networking.interfaces.\${t}.virtualOwner or null) == "vm-${g.net}") (builtins.attrNames host.networking.interfaces))`,
      );
      netns = createNetns(`vmf6-${id}`);
      netns.addTap(tapOfNet, users.get(g.net)!);
    }, 600_000);

    afterAll(() => {
      netns?.remove();
      for (const user of users.values()) removeSystemUser(user.name);
      rmSync(stateRoot, { recursive: true, force: true });
    });

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

    /** Runs guest `name`'s install unit script as rendered with the stand-in ISO `iso`. */
    async function install(
      name: string,
      iso: string,
      edit = (s: string) => s,
    ): Promise<ScriptResult> {
      const unit = rendered.get(iso)![name]!;
      const r = await runUnitScript(
        edit(unit.script),
        users.get(name)!,
        name === g.net ? { netns: netns!.name } : {},
      );
      // QEMU said nothing deprecated (its stderr is the unit's).
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

    it("network install: the image appears, holds what the installer wrote, and checks clean", async () => {
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
        expect(img.table.partitions[0]).toMatchObject({ start: 2048, type: "83", bootable: true });
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
    });

    it("offline install: nixos-install --system with the closure carried in the ISO", async () => {
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
    });

    it("no marker: no image, the log is kept, the unit fails naming the log", async () => {
      const r = await install(g.silent, "silent");
      expectFailedCleanly(g.silent, r, /the installer ended without reporting success/);
      expect(logOf(g.silent)).toContain(standInMarkers.silent);
    });

    it("a marker with another nonce is a failure", async () => {
      const r = await install(g.nonce, "wrong-nonce");
      expectFailedCleanly(g.nonce, r, /the installer ended without reporting success/);
      expect(logOf(g.nonce)).toMatch(/^INSTALL_OK [0-9a-f]{32}$/m);
    });

    it("a failure the installer reports is the unit's message", async () => {
      const r = await install(g.reported, "failing");
      expectFailedCleanly(
        g.reported,
        r,
        /the installer reported: nixos-install --flake \.\.\.#\S+ failed|the installer reported: nixos-install --system \S+ failed/,
      );
      expect(logOf(g.reported)).toContain("cannot reach the binary cache");
    });

    it("hang: the timeout stops QEMU, no image, nothing left running", async () => {
      // The unit's timeout (installTimeout, at least 60 s) shortened for the test.
      const r = await install(g.hang, "hang", (s) => s.replace(/--timeout \d+/, "--timeout 25"));
      expectFailedCleanly(
        g.hang,
        r,
        /the installer did not finish within 25 s, so QEMU was stopped/,
      );
      expect(logOf(g.hang)).toContain(standInMarkers.hanging);
      expect(r.ms).toBeLessThan(60_000);
    });

    it("two guests installing at once do not collide", async () => {
      const [a, b] = await Promise.all([install(g.pairA, "service"), install(g.pairB, "service")]);
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
    });

    it("an image already present: nothing happens and it is left alone", async () => {
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
      expect(existsSync(p.log)).toBe(false);
      expect(r.ms).toBeLessThan(5_000);
      // And the unit would not even start: its condition is the image's absence.
      expect(rendered.get("service")![g.present]!.condition).toBe(`!${p.image}`);
    });

    it("a second attempt after a failure starts clean and succeeds, the old log kept", async () => {
      const before = logOf(g.silent);
      const saved = join(dir, "silent.log");
      copyFileSync(paths(g.silent).log, saved);
      const r = await install(g.silent, "service");
      expect(r.code).toBe(0);
      expect(logOf(g.silent).startsWith(before)).toBe(true);
      expect(logOf(g.silent)).toContain("succeeded");
    });
  },
  { root: true },
);
