/**
 * The install scripts pass writeShellApplication's checks (bash -n, shellcheck) on their
 * own; the host script's argument checks and its side of the install protocol; the installer VM's
 * QEMU arguments; the seed file. The scripts are the files the generated flake copies
 * (lib/runtime/nixos/scripts/), read as they are.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HOSTNAME, IFNAME } from "../../lib/names.ts";
import { MAC } from "../../lib/mac.ts";
import {
  INSTALL_FAILED,
  INSTALL_OK,
  OFFLINE_SYSTEMS_DIR,
  SEED_FILE,
  SEED_FLAKE_DIR,
  SEED_FORMAT,
  SEED_SERIAL,
  WORK_IMAGE,
  WORK_ISO,
  WORK_SEED,
  installToken,
  seedFileText,
} from "../../lib/runtime/install-protocol.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { runtimeScript, shellAssignment } from "../support/runtime-files.ts";
import { describeWith } from "../support/tools.ts";

const installGuestScript = runtimeScript("install-guest");
const installerScript = runtimeScript("installer");

describeWith(["shellcheck", "bash"], "install scripts pass writeShellApplication's checks", () => {
  const dir = scratchDir("vmflake-inst-lint-");
  afterAll(() => removeScratchDir(dir));

  it.each([
    ["vmflake-install-guest", installGuestScript],
    ["vmflake-install", installerScript],
  ])("%s", (name, text) => {
    const path = writeShellApp(dir, name, text);
    execFileSync("bash", ["-n", path]);
    const sc = spawnSync("shellcheck", [path], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  });
});

describe("the scripts' rules are the TypeScript ones", () => {
  it("host and guest names: the same label regex in both install scripts, equal to HOSTNAME", () => {
    expect(shellAssignment(installGuestScript, "label")).toBe(HOSTNAME.source);
    expect(shellAssignment(installerScript, "label")).toBe(HOSTNAME.source);
  });

  it("byte counts: at most 18 digits in both install scripts and the disk script", () => {
    // 19 digits can exceed bash's signed 64-bit arithmetic; every 18-digit number fits.
    const rule = "^[1-9][0-9]{0,17}$";
    expect(installGuestScript).toContain(`[[ $disk_bytes =~ ${rule} ]]`);
    expect(installerScript).toContain(`[[ $bytes =~ ${rule} ]]`);
    expect(runtimeScript("prepare-disk")).toContain(`[[ $2 =~ ${rule} ]]`);
    for (const text of [installGuestScript, installerScript, runtimeScript("prepare-disk")]) {
      expect(text).not.toMatch(/\{0,18\}/);
    }
  });

  it("the tap script's interface names and MACs", () => {
    const tap = runtimeScript("tap");
    expect(shellAssignment(tap, "ifname")).toBe(IFNAME.source);
    expect(shellAssignment(tap, "macaddr")).toBe(MAC.source);
  });

  it("the installer speaks install-protocol.ts: seed serial, file, format, markers, offline dir", () => {
    expect(installerScript).toContain(`offline_dir=${OFFLINE_SYSTEMS_DIR}\n`);
    expect(installerScript).toContain(`mapfile -t seeds < <(disks_with_serial ${SEED_SERIAL})`);
    expect(installerScript).toContain(`$serial != ${SEED_SERIAL} ]]`);
    expect(installerScript).toContain(`"$seed_mount/${SEED_FILE}"`);
    expect(installerScript).toContain(`[ "\${seed[format]-}" = ${SEED_FORMAT} ]`);
    expect(installerScript).toContain(`"$seed_mount/${SEED_FLAKE_DIR}/flake.nix"`);
    expect(installerScript).toContain(`report "${INSTALL_OK} $nonce"`);
    expect(installerScript).toContain(`report "${INSTALL_FAILED} $nonce: $reason"`);
  });
});

describeWith(["bash", "qemu-img", "flock"], "the host install script's own checks", () => {
  const dir = scratchDir("vmflake-inst-args-");
  afterAll(() => removeScratchDir(dir));
  const script = writeShellApp(dir, "vmflake-install-guest", installGuestScript);
  const state = join(dir, "guest");
  mkdirSync(state);
  const iso = join(dir, "installer.iso");
  writeFileSync(iso, "");
  const good: Record<string, string> = {
    "--host": "study",
    "--guest": "alice",
    "--image": join(state, "disk.qcow2"),
    "--disk-bytes": "1073741824",
    "--disk-serial": "vmflake-root",
    "--work": join(state, "install.tmp"),
    "--log": join(state, "install.log"),
    "--timeout": "60",
    "--token": "vmflake-install-opt-in/study",
    "--iso": iso,
  };
  const run = (change: Record<string, string>, tail: string[] = ["--", "false"]) => {
    const args = Object.entries({ ...good, ...change }).flat();
    return spawnSync(script, [...args, ...tail], { encoding: "utf8" });
  };

  it.each([
    [{ "--guest": "Alice" }, /--guest: "Alice" is not a guest name/],
    [{ "--image": "disk.qcow2" }, /--image: "disk.qcow2" is not an absolute path to a .qcow2 file/],
    [{ "--disk-bytes": "1000" }, /--disk-bytes: "1000" is not a positive multiple of 512/],
    [{ "--disk-serial": "a serial" }, /--disk-serial: "a serial" is not a serial/],
    [
      { "--work": "/tmp/elsewhere" },
      /--work: "\/tmp\/elsewhere" must be another entry of the image's directory/,
    ],
    [{ "--timeout": "0" }, /--timeout: "0" is not a count of seconds/],
    [
      { "--iso": "/nonexistent.iso" },
      /--iso: the installer ISO "\/nonexistent.iso" does not exist/,
    ],
    [{ "--flake": dir }, /--flake: no flake.nix in/],
    [{ "--host": "Study" }, /--host: "Study" is not a host name/],
    [{ "--guest": `a${"b".repeat(63)}` }, /--guest: "ab+" is not a guest name/],
    // 2^63 is a multiple of 512 that bash's 64-bit arithmetic would wrap to a negative number.
    [
      { "--disk-bytes": String(2n ** 63n) },
      /--disk-bytes: "\d+" is not a positive multiple of 512/,
    ],
  ])("refuses %j", (change, message) => {
    const r = run(change);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(good["--work"]!)).toBe(false);
  });

  it("refuses to run without a QEMU command", () => {
    const r = run({}, []);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no QEMU command after --/);
  });

  it("a failing QEMU: no image, the work directory gone, the log kept and named", () => {
    const r = run({});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /install of guest alice failed: the installer ended without reporting success/,
    );
    expect(r.stderr).toContain(`the installer's console log is kept in ${good["--log"]}`);
    expect(existsSync(good["--image"]!)).toBe(false);
    expect(existsSync(good["--work"]!)).toBe(false);
    expect(existsSync(good["--log"]!)).toBe(true);
  });
});

describeWith(
  ["bash", "qemu-img", "flock"],
  "the host install script's side of the protocol",
  () => {
    const dir = scratchDir("vmflake-inst-proto-");
    afterAll(() => removeScratchDir(dir));
    const script = writeShellApp(dir, "vmflake-install-guest", installGuestScript);
    const iso = join(dir, "installer.iso");
    writeFileSync(iso, "");
    const diskBytes = 1n << 30n;

    /**
     * A stand-in for QEMU and the installer: it keeps what the work directory held (the seed, the
     * ISO link, the image-in-progress) and writes `reply` (with NONCE replaced by the seed's nonce)
     * to the serial log, the way the installer's console reaches it (CR LF).
     */
    const fakeQemu = writeShellApp(
      dir,
      "fake-qemu",
      `work=$1 log=$2 seen=$3 reply=$4
cp -- "$work/${WORK_SEED}/${SEED_FILE}" "$seen/seed"
readlink -- "$work/${WORK_ISO}" >"$seen/iso"
qemu-img info -f qcow2 --output=json "$work/${WORK_IMAGE}" >"$seen/image.json"
nonce=$(sed -n 's/^nonce=//p' "$seen/seed")
printf 'booting\r\n%s\r\n' "\${reply//NONCE/$nonce}" >>"$log"
`,
    );

    let n = 0;
    /** Runs one install into a fresh guest directory; `reply` is the installer's last line. */
    function install(reply: string, prepare?: (image: string) => void) {
      const state = join(dir, `guest-${n++}`);
      mkdirSync(state);
      const seen = join(state, "seen");
      mkdirSync(seen);
      const paths = {
        image: join(state, "disk.qcow2"),
        work: join(state, "install.tmp"),
        log: join(state, "install.log"),
      };
      prepare?.(paths.image);
      const args = [
        ["--host", "study"],
        ["--guest", "alice"],
        ["--image", paths.image],
        ["--disk-bytes", String(diskBytes)],
        ["--disk-serial", "vmflake-root"],
        ["--work", paths.work],
        ["--log", paths.log],
        ["--timeout", "60"],
        ["--token", installToken("study")],
        ["--iso", iso],
      ].flat();
      const r = spawnSync(script, [...args, "--", fakeQemu, paths.work, paths.log, seen, reply], {
        encoding: "utf8",
      });
      return { ...r, ...paths, seen };
    }

    it("publishes the image when the installer reports success with this attempt's nonce", () => {
      const r = install(`${INSTALL_OK} NONCE`);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/installed guest alice in \d+ s/);
      // What the installer was given: the seed as install-protocol.ts writes it, the ISO, a blank
      // image of the declared size.
      const seed = readFileSync(join(r.seen, "seed"), "utf8");
      const nonce = /^nonce=([0-9a-f]{32})$/m.exec(seed)?.[1];
      expect(nonce).toBeDefined();
      expect(seed).toBe(
        seedFileText({
          format: SEED_FORMAT,
          host: "study",
          guest: "alice",
          nonce: nonce!,
          token: installToken("study"),
          "disk-serial": "vmflake-root",
          "disk-bytes": diskBytes,
        }),
      );
      expect(readFileSync(join(r.seen, "iso"), "utf8").trim()).toBe(iso);
      const info = JSON.parse(readFileSync(join(r.seen, "image.json"), "utf8")) as {
        "virtual-size": number;
      };
      expect(BigInt(info["virtual-size"])).toBe(diskBytes);
      // Published under its name; the work directory gone; the log says so.
      execFileSync("qemu-img", ["check", "-q", "-f", "qcow2", r.image]);
      expect(existsSync(r.work)).toBe(false);
      expect(readFileSync(r.log, "utf8")).toContain(
        "=== vmflake: install of guest alice succeeded",
      );
    });

    it.each([
      [`${INSTALL_OK} ${"0".repeat(32)}`, /the installer ended without reporting success/],
      [`${INSTALL_FAILED} NONCE: no disk has the serial x`, /the installer reported: no disk has/],
    ])("publishes nothing after %j", (reply, message) => {
      const r = install(reply);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(r.image)).toBe(false);
      expect(existsSync(r.work)).toBe(false);
    });

    it("leaves an existing image alone, byte for byte, and runs no installer", () => {
      let before = "";
      const r = install(`${INSTALL_OK} NONCE`, (image) => {
        execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", image, "64M"]);
        before = readFileSync(image).toString("base64");
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/exists, so guest alice is installed; nothing to do/);
      expect(readFileSync(r.image).toString("base64")).toBe(before);
      expect(existsSync(join(r.seen, "seed"))).toBe(false);
      expect(existsSync(r.work)).toBe(false);
    });
  },
);

describe("seed file", () => {
  it("key=value lines in a fixed order", () => {
    expect(
      seedFileText({
        format: 1,
        host: "study",
        guest: "alice",
        nonce: "0".repeat(32),
        token: "vmflake-install-opt-in/study",
        "disk-serial": "vmflake-root",
        "disk-bytes": 1n << 30n,
      }),
    ).toBe(
      `format=1\nhost=study\nguest=alice\nnonce=${"0".repeat(32)}\ntoken=vmflake-install-opt-in/study\ndisk-serial=vmflake-root\ndisk-bytes=1073741824\n`,
    );
  });
});

/**
 * The installer's blkid probe on its own: the exact lines of installer.sh (from `found=0` to the
 * `esac` of its case), run by bash with `fail` recording the reason, against a blkid on PATH that
 * is either the real one (on image files) or a stand-in that reports what the real one could: a
 * signature wipefs does not list, or a probe error. Any of the three outcomes lost to an edit of
 * those lines fails here, with no VM and no Nix.
 */
describeWith(["bash", "blkid", "mkfs.ext4"], "the installer's blkid probe, on its own", () => {
  const dir = scratchDir("vmflake-blkid-");
  afterAll(() => removeScratchDir(dir));
  const probe = /\nfound=0\nprobe=\$\(blkid [^\n]*\n(?:[^\n]*\n)*?esac\n/.exec(
    installerScript,
  )?.[0];

  /** Runs the probe lines on `dev` with `blkid` (a path, or a stand-in's script text). */
  function runProbe(dev: string, blkid: { real: true } | { script: string }) {
    const bin = join(dir, `bin-${Math.random().toString(36).slice(2)}`);
    mkdirSync(bin);
    if ("script" in blkid) writeFileSync(join(bin, "blkid"), blkid.script, { mode: 0o755 });
    const program = `set -o errexit -o nounset -o pipefail
fail() { echo "FAIL: $*"; exit 1; }
dev=$1
${probe}
echo "BLANK"`;
    return spawnSync("bash", ["-c", program, "probe", dev], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/sbin:/sbin:/usr/bin:/bin` },
    });
  }

  it("the probe is in installer.sh, once, and asks blkid for a low-level probe", () => {
    expect(probe).toBeDefined();
    expect(installerScript.split(probe!)).toHaveLength(2);
    expect(probe).toContain('blkid -p -o export "$dev"');
  });

  it("real blkid: a zeroed disk is blank, an ext4 one is refused naming what blkid found", () => {
    const zero = join(dir, "zero.img");
    writeFileSync(zero, Buffer.alloc(8 * 1024 * 1024));
    expect(runProbe(zero, { real: true })).toMatchObject({ status: 0, stdout: "BLANK\n" });
    const ext4 = join(dir, "ext4.img");
    writeFileSync(ext4, Buffer.alloc(8 * 1024 * 1024));
    execFileSync("mkfs.ext4", ["-q", "-F", ext4]);
    const r = runProbe(ext4, { real: true });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^FAIL: \S+ext4\.img is not blank: blkid finds .*TYPE=ext4.*; refusing it$/m,
    );
  });

  it("a signature only blkid reports (its exit 0) is refused, its lines joined by spaces", () => {
    const r = runProbe("/dev/vdz", {
      script: "#!/bin/sh\nprintf 'DEVNAME=/dev/vdz\\nTYPE=zfs_member\\nUSAGE=raid\\n'\nexit 0\n",
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      "FAIL: /dev/vdz is not blank: blkid finds DEVNAME=/dev/vdz TYPE=zfs_member USAGE=raid; refusing it\n",
    );
  });

  it("a probe error (blkid's exit 4, or any status but 0 and 2) is refused with blkid's message", () => {
    for (const status of [1, 4, 8]) {
      const r = runProbe("/dev/vdz", {
        script: `#!/bin/sh\necho "blkid: error: /dev/vdz: Input/output error" >&2\nexit ${status}\n`,
      });
      expect(r.status, `exit ${status}`).toBe(1);
      expect(r.stdout).toBe(
        "FAIL: blkid cannot probe /dev/vdz: blkid: error: /dev/vdz: Input/output error\n",
      );
    }
  });

  it("nothing found (blkid's exit 2) goes on", () => {
    const r = runProbe("/dev/vdz", { script: "#!/bin/sh\nexit 2\n" });
    expect(r).toMatchObject({ status: 0, stdout: "BLANK\n" });
  });
});
