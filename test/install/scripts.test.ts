/**
 * Issue 6: the install scripts pass writeShellApplication's checks (bash -n, shellcheck) on their
 * own; the host script's argument checks; the installer VM's QEMU arguments; the seed file.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installGuestScript } from "../../lib/runtime/install-guest-script.ts";
import { installQemuArgs } from "../../lib/runtime/install-qemu-args.ts";
import { seedFileText } from "../../lib/runtime/install-protocol.ts";
import { installerScript } from "../../lib/runtime/installer-script.ts";
import { removeScratchDir, scratchDir } from "../support/qemu-kit/scratch-dir.ts";
import { writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { describeWith } from "../support/tools.ts";

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

describe("installQemuArgs", () => {
  const base = {
    name: "alice",
    cpus: 2,
    memoryMiB: 3072,
    workDir: "/var/lib/qemu-guests/alice/install.tmp",
    diskSerial: "vmflake-root",
    log: "/var/lib/qemu-guests/alice/install.log",
  };

  it("boots the CD once, never reboots, seed read-only, target by serial, no bootindex", () => {
    const args = installQemuArgs(base);
    const line = args.join(" ");
    expect(args).toContain("-no-reboot");
    expect(args[args.indexOf("-boot") + 1]).toBe("once=d");
    expect(line).toContain(
      "-blockdev driver=file,node-name=installer-file,filename=/var/lib/qemu-guests/alice/install.tmp/installer.iso,read-only=on",
    );
    expect(line).toContain("-device ide-cd,drive=installer,bus=ide.0");
    expect(line).toContain("-device virtio-blk-pci,drive=disk0,serial=vmflake-root");
    expect(line).toContain(
      "driver=vvfat,node-name=seed,dir=/var/lib/qemu-guests/alice/install.tmp/seed,fat-type=16,label=VMFLAKESEED,read-only=on",
    );
    expect(line).toContain("-device virtio-blk-pci,drive=seed,serial=vmflake-seed");
    expect(line).toContain(
      "-chardev file,id=serial0,path=/var/lib/qemu-guests/alice/install.log,append=on",
    );
    expect(line).not.toContain("bootindex");
    expect(args[args.indexOf("-display") + 1]).toBe("none");
    expect(args).not.toContain("-netdev");
  });

  it("uses the guest's VNC and network when given", () => {
    const args = installQemuArgs({
      ...base,
      vnc: { address: "127.0.0.1", display: 3 },
      net: { tap: "tap0", mac: "52:54:00:12:34:56" },
    });
    expect(args.join(" ")).toContain("-display vnc=127.0.0.1:3 -device VGA");
    expect(args.join(" ")).toContain(
      "-netdev tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56",
    );
  });

  it("refuses values QEMU would split or cut", () => {
    expect(() => installQemuArgs({ ...base, workDir: "/var/lib/a,b" })).toThrow(/contains a comma/);
    expect(() => installQemuArgs({ ...base, diskSerial: "x".repeat(21) })).toThrow(
      /longer than 20 bytes/,
    );
    expect(() => installQemuArgs({ ...base, memoryMiB: 0 })).toThrow(/positive integer/);
  });
});

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
