/**
 * The installer's safeguards, run for real: the REAL install service of the emitted
 * installer module (built by Nix from modules/installer/<host>.nix, run inside the stand-in ISO,
 * see support/standin-iso.ts; its service is `systemd.services.vmflake-install` of the runtime's
 * modules/vmflake/installer.nix with the host's values, run with the argument vector of its
 * ExecStart) boots in QEMU against virtio disks with given serials, sizes and contents, with the
 * seed drive the host would give it or a wrong one. QEMU's command line is the installer VM's,
 * from the runtime's own builder (modules/vmflake/qemu.nix, through test/support/qemu-args.ts),
 * as the install unit runs it. A disk it must refuse is compared, byte for byte as the guest sees
 * it, before and after.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  closeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  installToken,
  SEED_FILE,
  seedFileText,
  SEED_SERIAL,
  WORK_IMAGE,
  WORK_ISO,
  WORK_SEED,
  type SeedFields,
} from "../../lib/runtime/install-protocol.ts";
import { installQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { startQemu, waitUntil } from "../support/qemu-kit/qemu-process.ts";
import { removeScratchDir, scratchDir, tempDir } from "../support/temp.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { describeWith } from "../support/tools.ts";
import { inspectImage, sameContent } from "./support/image.ts";
import { emitFlake, installUnits, optionValue } from "./support/install-flake.ts";
import { hasIsolinux, standInIso, standInIsoTools, standInMarkers } from "./support/standin-iso.ts";

const TOOLS = [...qemuKitTools, ...standInIsoTools, "nix-instantiate", "nix-build", "debugfs"];
const HOST = "checkhost";
const GUEST = "known";
const GiB = 1n << 30n;

/** One boot of the installer under TCG until it powers off, on a loaded two-core machine. */
const BOOT_TIMEOUT_MS = 480_000;
/** A test: its disk preparation, the boot, and the image inspection afterwards. */
const BOOT_TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + 120_000;

/**
 * The installer VM of GUEST as the host module hands it to qemu.nix (1 CPU, the default installer
 * memory of 3072 MiB, no VNC, no network: an offline install), with its work directory and log
 * wherever the test puts them.
 */
function installerVm(workDir: string, log: string) {
  return qemuGuest({
    name: GUEST,
    image: join(dirname(workDir), WORK_IMAGE),
    cpus: 1,
    memoryMiB: 256,
    install: { offline: true, memoryMiB: 3072, workDir, log },
  });
}

describeWith(
  hasIsolinux() ? TOOLS : [...TOOLS, "/usr/lib/ISOLINUX/isolinux.bin"],
  "the installer's safeguards, in the stand-in ISO against real virtio disks",
  () => {
    const dir = tempDir("vmflake-checks-");
    let iso = "";
    /** The guest's install unit's ExecStart, as the host module renders it. */
    let unitArgv: string[] = [];
    const scratch: string[] = [];

    beforeAll(async () => {
      // The ISO knows one guest, carried offline, as an offline guest's installer would.
      const out = await emitFlake(
        dir,
        `{ hosts: { ${HOST}: {
          lan: { nic: "eth0", bridge: "br0" },
          stateVersion: "26.05",
          guests: { ${GUEST}: { memory: "256M", disk: "1G", offlineInstall: true } },
        } } }`,
      );
      const rendered = installUnits(out, HOST, [GUEST]);
      const { installer } = rendered;
      const exec = installer.execStart;
      unitArgv = rendered.units[GUEST]!.argv;
      iso = standInIso({
        kind: "service",
        execStart: exec,
        storePaths: [dirname(dirname(exec[0]!)), ...installer.storeContents],
        files: Object.entries(installer.etcLinks).map(([path, target]) => ({
          path,
          symlink: target,
        })),
      });
    }, 600_000);

    afterAll(() => scratch.forEach(removeScratchDir));

    interface Boot {
      /** Seed fields (defaults: the right ones), `null` for no seed drive, or raw text. */
      seed?: Partial<SeedFields> | null | { text: string };
      /** Fills the raw target disk before the boot. */
      prepare?: (raw: string) => void;
      diskBytes?: bigint;
      /** QEMU arguments added at the end (more disks). */
      extraArgs?: (work: string) => string[];
    }

    interface Booted {
      log: string;
      nonce: string;
      /** True when the target disk shows the guest exactly what it showed before the boot. */
      untouched: boolean;
      image: string;
      poweredOff: boolean;
    }

    /** Boots the installer once, until it powers off or its service returns. */
    async function boot(opts: Boot): Promise<Booted> {
      const work = scratchDir("vmflake-chk-");
      scratch.push(work);
      const image = join(work, WORK_IMAGE);
      const bytes = opts.diskBytes ?? GiB;
      const raw = join(work, "disk.raw");
      execFileSync("truncate", ["-s", String(bytes), raw]);
      opts.prepare?.(raw);
      execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, image]);
      const before = join(work, "before.qcow2");
      copyFileSync(image, before);
      symlinkSync(iso, join(work, WORK_ISO));
      mkdirSync(join(work, WORK_SEED));
      const nonce = randomBytes(16).toString("hex");
      if (opts.seed !== null) {
        const text =
          opts.seed !== undefined && "text" in opts.seed
            ? opts.seed.text
            : seedFileText({
                format: 1,
                host: HOST,
                guest: GUEST,
                nonce,
                token: installToken(HOST),
                "disk-serial": "vmflake-root",
                "disk-bytes": GiB,
                ...(opts.seed as Partial<SeedFields> | undefined),
              });
        writeFileSync(join(work, WORK_SEED, SEED_FILE), text);
      }
      const log = join(work, "install.log");
      let args = installQemuArgs([installerVm(work, log)])[0]!;
      if (opts.seed === null) {
        // No seed drive at all: drop the vvfat node and its device.
        const i = args.findIndex((a) => a.startsWith("driver=vvfat"));
        args = [...args.slice(0, i - 1), ...args.slice(i + 3)];
        expect(args.join(" ")).not.toContain(SEED_SERIAL);
      }
      const qemu = startQemu([...args, ...(opts.extraArgs?.(work) ?? [])]);
      const console_ = (): string =>
        existsSync(log) ? readFileSync(log, "utf8").replace(/\r/g, "") : "";
      try {
        await waitUntil(
          "the installer to power off or its service to return",
          () => !qemu.running() || console_().includes(standInMarkers.serviceExited),
          BOOT_TIMEOUT_MS,
        );
      } finally {
        await qemu.kill();
      }
      const exit = await qemu.exited;
      return {
        log: console_(),
        nonce,
        untouched: sameContent(before, image),
        image,
        poweredOff: exit.signal === null && exit.code === 0,
      };
    }

    const refused = (b: Booted, reason: RegExp): void => {
      const line = b.log.split("\n").find((l) => l.startsWith(`INSTALL_FAILED ${b.nonce}: `));
      expect(line, b.log).toMatch(reason);
      expect(b.log).not.toMatch(/^INSTALL_OK/m);
      expect(b.poweredOff).toBe(true);
      expect(b.untouched).toBe(true);
    };

    const idle = (b: Booted, says: RegExp): void => {
      expect(b.log).toMatch(says);
      expect(b.log).toContain(`${standInMarkers.serviceExited} 0`);
      expect(b.log).not.toMatch(/INSTALL_(OK|FAILED)/);
      expect(b.untouched).toBe(true);
    };

    /** Writes `data` at `offset` of the raw file. */
    const writeAt = (raw: string, offset: bigint, data: Buffer): void => {
      const fd = openSync(raw, "r+");
      writeSync(fd, data, 0, data.length, Number(offset));
      closeSync(fd);
    };

    it("the boots run the install unit's QEMU arguments, with only the paths moved", () => {
      const qemuAt = unitArgv.indexOf("--") + 1;
      expect(unitArgv[qemuAt]).toMatch(/^\/nix\/store\/[^/]+\/bin\/qemu-kvm$/);
      const asRendered = installerVm(
        optionValue(unitArgv, "--work")!,
        optionValue(unitArgv, "--log")!,
      );
      expect(unitArgv.slice(qemuAt + 1)).toEqual(installQemuArgs([asRendered])[0]);
    });

    it(
      "the right seed and a blank disk: it installs (the control case)",
      async () => {
        const b = await boot({});
        expect(b.log).toMatch(new RegExp(`^INSTALL_OK ${b.nonce}$`, "m"));
        expect(b.poweredOff).toBe(true);
        expect(b.untouched).toBe(false);
        inspectImage(b.image, (img) => {
          expect(img.filesystem).toMatchObject({ TYPE: "ext4", LABEL: "nixos" });
          expect(img.read("/vmflake-stand-in/args")).toMatch(
            /--system \/nix\/store\/\S+-nixos-system-known-stand-in/,
          );
        });
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "no seed drive: does nothing (a stray boot on a real machine)",
      async () => {
        idle(
          await boot({ seed: null }),
          /0 disks with serial vmflake-seed \(a seed drive\) found; nothing to do/,
        );
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "a seed drive without the opt-in token: does nothing",
      async () => {
        const seed = seedFileText({
          format: 1,
          host: HOST,
          guest: GUEST,
          nonce: randomBytes(16).toString("hex"),
          token: "",
          "disk-serial": "vmflake-root",
          "disk-bytes": GiB,
        }).replace(/^token=.*\n/m, "");
        idle(
          await boot({ seed: { text: seed } }),
          /carries no opt-in token for this installer \(host checkhost\); nothing to do/,
        );
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "another host's token: does nothing",
      async () => {
        idle(
          await boot({ seed: { token: installToken("otherhost") } }),
          /no opt-in token for this installer/,
        );
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "a disk with a file system is refused and left untouched",
      async () => {
        const b = await boot({
          prepare: (raw) => execFileSync("mkfs.ext4", ["-q", "-F", "-L", "data", raw]),
        });
        refused(b, /is not blank: wipefs finds ext4/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "a disk with a partition table is refused and left untouched",
      async () => {
        const b = await boot({
          prepare: (raw) =>
            execFileSync("sfdisk", ["--quiet", raw], {
              input: "label: gpt\nstart=2048, size=20480\n",
            }),
        });
        refused(b, /is not blank: it has the partition vda1/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "data without any known signature in the first MiB: refused, untouched",
      async () => {
        const b = await boot({
          prepare: (raw) => writeAt(raw, 8192n, Buffer.from("precious bytes")),
        });
        refused(b, /is not blank: MiB 0 of it holds 14 non-zero bytes/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "data in the last MiB: refused, untouched",
      async () => {
        const b = await boot({ prepare: (raw) => writeAt(raw, GiB - 4096n, Buffer.from("tail")) });
        refused(b, /is not blank: MiB 1023 of it holds 4 non-zero bytes/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "a disk of another size than declared: refused, untouched",
      async () => {
        refused(
          await boot({ diskBytes: 2n * GiB }),
          /has 2147483648 bytes, not the 1073741824 the host declared; refusing it/,
        );
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "no disk with the seed's serial: refused, the other disk untouched",
      async () => {
        refused(
          await boot({ seed: { "disk-serial": "another-disk" } }),
          /no disk has the serial another-disk/,
        );
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "two disks with the serial: refuses to choose",
      async () => {
        const b = await boot({
          extraArgs: (work) => {
            const second = join(work, "second.qcow2");
            execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", second, String(GiB)]);
            return [
              ...["-blockdev", `driver=file,node-name=second-file,filename=${second}`],
              ...["-blockdev", "driver=qcow2,node-name=second,file=second-file"],
              ...["-device", "virtio-blk-pci,drive=second,serial=vmflake-root"],
            ];
          },
        });
        refused(b, /2 disks have the serial vmflake-root \(vd[a-z] vd[a-z]\); refusing to choose/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );

    it(
      "a guest the installer does not know: refused",
      async () => {
        refused(await boot({ seed: { guest: "stranger" } }), /does not know guest stranger/);
      },
      BOOT_TEST_TIMEOUT_MS,
    );
  },
);
