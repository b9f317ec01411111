/**
 * Real NixOS tier: a host and its guest with every data disk and share field, evaluated by the real
 * NixOS module system (one `nix eval` each, test/nixos/real-nixos.nix). On the host: the data
 * disks' unit and its program, the virtiofs socket and virtiofsd units with their sandbox, the
 * guest's QEMU with the devices of qemu.nix after its NIC, 9p directories in the guest's own
 * mount namespace. In the guest: the mounts and the fstab NixOS writes, which Debian's real
 * systemd-fstab-generator turns into systemd-makefs and systemd-growfs units, and the runtime's
 * guard on makefs, which keeps a disk that is not blank from being formatted.
 * virtiofsd itself is not run: it is not packaged for this machine's Debian.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../lib/mac.ts";
import type { HostsSpec } from "../../lib/index.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { guestQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { tempDir } from "../support/temp.ts";
import {
  type BuiltFlake,
  buildFlake,
  describeNixpkgs,
  drvEnv,
  drvNamed,
  realEval,
  removeBuiltFlakes,
  reportTime,
  unitValues,
} from "./support.ts";

interface HostResult {
  readonly units: { readonly [unit: string]: string };
  readonly qemuExe: string;
  readonly failedAssertions: readonly string[];
  readonly warnings: readonly string[];
}

interface GuestResult {
  readonly drvPath: string;
  readonly fileSystems: {
    readonly [mountPoint: string]: {
      readonly device: string;
      readonly fsType: string;
      readonly options: readonly string[];
      readonly autoFormat: boolean;
      readonly autoResize: boolean;
    };
  };
  readonly fstab: string;
  readonly makefsDropIns: {
    readonly [unit: string]: {
      readonly text: string;
      readonly overrideStrategy: string;
      readonly drvs: readonly string[];
    };
  };
  readonly failedAssertions: readonly string[];
}

/** Every field of data disks and shares, on one guest; a second guest with none of them. */
const SPEC = {
  hosts: {
    store: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      guests: {
        vault: {
          memory: "1G",
          disk: "8G",
          disks: {
            data: { size: "200G", mountPoint: "/srv" },
            logs: { size: "2G", mountPoint: "/var/log/archive", fsType: "xfs", serial: "logs-1" },
            pool: { size: "4G", mountPoint: "/pool", fsType: "btrfs" },
            scratch: { size: "20G" },
          },
          shares: {
            media: { source: "/srv/media", mountPoint: "/media", readOnly: true },
            docs: { source: "/srv/docs", mountPoint: "/docs", protocol: "virtiofs" },
            notes: { source: "/home/dan/notes", mountPoint: "/notes", protocol: "9p" },
            photos: {
              source: "/srv/photos",
              mountPoint: "/photos",
              protocol: "9p",
              readOnly: true,
            },
          },
        },
        plain: { memory: "1G", disk: "8G" },
      },
    },
  },
} as const satisfies HostsSpec;

const GiB = 1024 ** 3;
const execArgv = (unit: string, key: string): string[][] =>
  unitValues(unit, key).map((l) => parseExecLine(l));
const one = (unit: string, key: string): string => {
  const v = unitValues(unit, key);
  expect(v, key).toHaveLength(1);
  return v[0]!;
};

describeNixpkgs("real NixOS: data disks and shares on a host and in its guest", () => {
  let flake: BuiltFlake;
  let host: HostResult;
  let guest: GuestResult;

  beforeAll(async () => {
    flake = await buildFlake(SPEC);
    const h = realEval<{ host: HostResult }>({
      flakeDir: flake.dir,
      scenario: "host",
      host: "store",
    });
    reportTime("host eval, store with data disks and shares", h.seconds);
    host = h.result.host;
    const g = realEval<{ guest: GuestResult }>({
      flakeDir: flake.dir,
      scenario: "guest",
      guest: "vault",
    });
    reportTime("guest eval, vault with data disks and shares", g.seconds);
    guest = g.result.guest;
  }, 900_000);
  afterAll(() => removeBuiltFlakes());

  it("both systems evaluate with no failed assertion or warning", () => {
    expect(host.failedAssertions).toEqual([]);
    expect(host.warnings).toEqual([]);
    expect(guest.failedAssertions).toEqual([]);
    expect(guest.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-vault-.*\.drv$/);
  });

  it("the guest's QEMU is qemu.nix's command line: data disks and shares after the NIC", () => {
    const unit = host.units["qemu-guest-vault.service"]!;
    const [argv] = execArgv(unit, "ExecStart");
    const state = "/var/lib/qemu-guests/vault";
    const disk = (name: string, bytes: number, serial = name) => ({
      bytes,
      serial,
      image: `${state}/disk-${name}.qcow2`,
    });
    const share = (
      source: string,
      readOnly: boolean,
      protocol: "virtiofs" | "9p",
      tag: string,
    ) => ({
      source,
      readOnly,
      protocol,
      socket: `/run/vmflake-virtiofs/vault.${tag}.sock`,
    });
    const expected = qemuGuest({
      name: "vault",
      memoryMiB: 1024,
      image: `${state}/disk.qcow2`,
      qmpSocket: "/run/qemu-guests/vault/qmp.sock",
      consoleSocket: "/run/qemu-guests/vault/console.sock",
      tap: "vm-vault",
      mac: deriveMac("store", "vault"),
      disks: {
        data: disk("data", 200 * GiB),
        logs: disk("logs", 2 * GiB, "logs-1"),
        pool: disk("pool", 4 * GiB),
        scratch: disk("scratch", 20 * GiB),
      },
      shares: {
        docs: share("/srv/docs", false, "virtiofs", "docs"),
        media: share("/srv/media", true, "virtiofs", "media"),
        notes: share("/home/dan/notes", false, "9p", "notes"),
        photos: share("/srv/photos", true, "9p", "photos"),
      },
    });
    expect(argv![0]).toBe(host.qemuExe);
    expect(argv!.slice(1)).toEqual(guestQemuArgs([expected])[0]);
    const args = argv!.join(" ");
    // The NIC keeps its place before every added device.
    expect(args.indexOf("virtio-net-pci")).toBeLessThan(args.indexOf("drive=data-data"));
    for (const s of [
      "virtio-blk-pci,drive=data-data,serial=data",
      "virtio-blk-pci,drive=data-logs,serial=logs-1",
      "vhost-user-fs-pci,chardev=fs-media,tag=media",
      "socket,id=fs-media,path=/run/vmflake-virtiofs/vault.media.sock",
      "memory-backend-memfd,id=mem,size=1024M,share=on",
      "local,id=fs-photos,path=/srv/photos,security_model=none,multidevs=remap,readonly=on",
      "virtio-9p-pci,fsdev=fs-notes,mount_tag=notes",
    ]) {
      expect(args).toContain(s);
    }
  });

  it("the guest's unit requires its disks' unit and its virtiofs sockets; 9p directories are bound into it", () => {
    const unit = host.units["qemu-guest-vault.service"]!;
    const requires = unitValues(unit, "Requires").join(" ").split(" ");
    for (const u of [
      "qemu-guest-vault-disks.service",
      "virtiofsd-vault.media.socket",
      "virtiofsd-vault.docs.socket",
    ]) {
      expect(requires).toContain(u);
      expect(unitValues(unit, "After").join(" ").split(" ")).toContain(u);
    }
    expect(one(unit, "BindPaths")).toBe("/home/dan/notes");
    expect(one(unit, "BindReadOnlyPaths")).toBe("/srv/photos");
    expect(one(unit, "ProtectHome")).toBe("tmpfs");
    expect(one(unit, "ProtectSystem")).toBe("strict");
  });

  it("qemu-guest-vault-disks.service creates and grows each data disk with the root disk's program", () => {
    const unit = host.units["qemu-guest-vault-disks.service"]!;
    const [pre] = execArgv(host.units["qemu-guest-vault.service"]!, "ExecStartPre");
    const lines = execArgv(unit, "ExecStart");
    const state = "/var/lib/qemu-guests/vault";
    expect(lines).toEqual([
      [pre![0], "--create", `${state}/disk-data.qcow2`, String(200 * GiB)],
      [pre![0], "--create", `${state}/disk-logs.qcow2`, String(2 * GiB)],
      [pre![0], "--create", `${state}/disk-pool.qcow2`, String(4 * GiB)],
      [pre![0], "--create", `${state}/disk-scratch.qcow2`, String(20 * GiB)],
    ]);
    expect(one(unit, "Type")).toBe("oneshot");
    expect(unitValues(unit, "RemainAfterExit")).toEqual([]);
    expect(one(unit, "User")).toBe("vm-vault");
    expect(one(unit, "StateDirectory")).toBe("qemu-guests/vault");
    expect(one(unit, "PrivateNetwork")).toBe("true");
    expect(one(unit, "DevicePolicy")).toBe("closed");
    expect(one(unit, "RestrictAddressFamilies")).toBe("AF_UNIX");
  });

  it("virtiofs: a socket only the guest's user may use, and a confined virtiofsd per share", () => {
    for (const [tag, source, readOnly] of [
      ["media", "/srv/media", true],
      ["docs", "/srv/docs", false],
    ] as const) {
      const socket = host.units[`virtiofsd-vault.${tag}.socket`]!;
      expect(one(socket, "ListenStream")).toBe(`/run/vmflake-virtiofs/vault.${tag}.sock`);
      expect(one(socket, "SocketUser")).toBe("vm-vault");
      expect(one(socket, "SocketMode")).toBe("0600");
      const service = host.units[`virtiofsd-vault.${tag}.service`]!;
      const [argv] = execArgv(service, "ExecStart");
      expect(argv![0]).toMatch(/^\/nix\/store\/[a-z0-9]{32}-virtiofsd-[0-9.]+\/bin\/virtiofsd$/);
      expect(argv!.slice(1)).toEqual([
        "--fd=3",
        `--shared-dir=${source}`,
        "--sandbox=none",
        "--rlimit-nofile=0",
        ...(readOnly ? ["--readonly"] : []),
      ]);
      expect(one(service, "User")).toBe("vm-vault");
      expect(one(service, "ProtectSystem")).toBe("strict");
      expect(one(service, "ProtectHome")).toBe("tmpfs");
      expect(one(service, "PrivateNetwork")).toBe("true");
      expect(one(service, "CapabilityBoundingSet")).toBe("");
      expect(unitValues(service, readOnly ? "BindReadOnlyPaths" : "BindPaths")).toEqual([source]);
      expect(unitValues(service, readOnly ? "BindPaths" : "BindReadOnlyPaths")).toEqual([]);
    }
    // 9p shares have no daemon.
    expect(
      Object.keys(host.units)
        .filter((u) => u.startsWith("virtiofsd-"))
        .sort(),
    ).toEqual([
      "virtiofsd-vault.docs.service",
      "virtiofsd-vault.docs.socket",
      "virtiofsd-vault.media.service",
      "virtiofsd-vault.media.socket",
    ]);
  });

  it("a guest without disks or shares has no added unit, device or sandbox change", () => {
    const unit = host.units["qemu-guest-plain.service"]!;
    expect(host.units["qemu-guest-plain-disks.service"]).toBeUndefined();
    const [argv] = execArgv(unit, "ExecStart");
    const state = "/var/lib/qemu-guests/plain";
    const plain = qemuGuest({
      name: "plain",
      memoryMiB: 1024,
      image: `${state}/disk.qcow2`,
      qmpSocket: "/run/qemu-guests/plain/qmp.sock",
      consoleSocket: "/run/qemu-guests/plain/console.sock",
      tap: "vm-plain",
      mac: deriveMac("store", "plain"),
    });
    expect(argv!.slice(1)).toEqual(guestQemuArgs([plain])[0]);
    expect(one(unit, "ProtectHome")).toBe("true");
    expect(unitValues(unit, "BindPaths")).toEqual([]);
  });

  it("the guest mounts its disks by serial with autoFormat and autoResize, its shares by tag", () => {
    const fs = guest.fileSystems;
    expect(fs["/srv"]).toMatchObject({
      device: "/dev/disk/by-id/virtio-data",
      fsType: "ext4",
      autoFormat: true,
      autoResize: true,
    });
    expect(fs["/var/log/archive"]).toMatchObject({
      device: "/dev/disk/by-id/virtio-logs-1",
      fsType: "xfs",
    });
    expect(fs["/pool"]).toMatchObject({ device: "/dev/disk/by-id/virtio-pool", fsType: "btrfs" });
    for (const m of ["/srv", "/var/log/archive", "/pool"]) {
      expect(fs[m]!.options).toEqual(
        expect.arrayContaining(["x-systemd.makefs", "x-systemd.growfs"]),
      );
    }
    // The unmounted disk is attached only.
    expect(Object.values(fs).some((f) => f.device.includes("scratch"))).toBe(false);
    expect(fs["/media"]).toMatchObject({ device: "media", fsType: "virtiofs", options: ["ro"] });
    expect(fs["/docs"]).toMatchObject({
      device: "docs",
      fsType: "virtiofs",
      options: ["defaults"],
    });
    expect(fs["/notes"]!.fsType).toBe("9p");
    expect(fs["/notes"]!.options).toEqual(["trans=virtio", "version=9p2000.L", "msize=524288"]);
    expect(fs["/photos"]!.options).toContain("ro");
  });

  it("systemd's own fstab generator turns the guest's fstab into makefs and growfs units", () => {
    const generator = "/lib/systemd/system-generators/systemd-fstab-generator";
    if (!existsSync(generator)) throw new Error(`${generator} is missing (package systemd)`);
    const dir = tempDir();
    const fstab = join(dir, "fstab");
    writeFileSync(fstab, guest.fstab);
    const out = join(dir, "units");
    mkdirSync(out);
    execFileSync(generator, [out, out, out], {
      env: { ...process.env, SYSTEMD_FSTAB: fstab, SYSTEMD_PROC_CMDLINE: "" },
      stdio: "pipe",
    });
    const mount = readFileSync(join(out, "srv.mount"), "utf8");
    expect(mount).toContain("What=/dev/disk/by-id/virtio-data");
    const makefs = "systemd-makefs@dev-disk-by\\x2did-virtio\\x2ddata.service";
    expect(readdirSync(join(out, "srv.mount.requires"))).toEqual([makefs]);
    expect(readdirSync(join(out, "srv.mount.wants"))).toEqual(["systemd-growfs@srv.service"]);

    // The generated unit's own command, run on image files standing for the guest's disk.
    // The generator writes plain words (no quoting): split on spaces.
    const argv = one(readFileSync(join(out, makefs), "utf8"), "ExecStart").split(" ");
    expect(argv.slice(1)).toEqual(["ext4", "/dev/disk/by-id/virtio-data"]);
    const makeFs = (file: string) =>
      spawnSync(argv[0]!, [argv[1]!, file], { encoding: "utf8", stdio: "pipe" });
    const fsType = (file: string) =>
      spawnSync("blkid", ["-p", "-o", "value", "-s", "TYPE", file], {
        encoding: "utf8",
      }).stdout.trim();
    const sum = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

    const blank = join(dir, "blank.img");
    writeFileSync(blank, Buffer.alloc(64 * 1024 * 1024));
    expect(makeFs(blank).status).toBe(0);
    expect(fsType(blank)).toBe("ext4");
    // Formatted once: the next boot's run finds a file system and leaves every byte alone.
    const formatted = sum(blank);
    const again = makeFs(blank);
    expect(again.status).toBe(0);
    expect(again.stderr + again.stdout).toMatch(/not empty/);
    expect(sum(blank)).toBe(formatted);

    // The guard's drop-in on that very unit: the runtime's format-guard program, for this disk.
    const dropIn = guest.makefsDropIns[makefs]!;
    expect(dropIn.overrideStrategy).toBe("asDropin");
    const [guardArgv] = execArgv(dropIn.text, "ExecStartPre");
    expect(guardArgv!.slice(1)).toEqual(["/dev/disk/by-id/virtio-data"]);
    expect(guardArgv![0]).toMatch(/-vmflake-format-guard\/bin\/vmflake-format-guard$/);
    // writeShellApplication puts its prelude before the script's text.
    expect(drvEnv(drvNamed(dropIn.drvs, "vmflake-format-guard")).text).toContain(
      runtimeScript("format-guard"),
    );
    const guard = writeShellApp(dir, "vmflake-format-guard", runtimeScript("format-guard"));
    /** The unit as systemd runs it: the guard, then (only if it passed) systemd-makefs. */
    const unit = (file: string) => {
      const pre = spawnSync(guard, [file], { encoding: "utf8" });
      return pre.status === 0 ? { pre, makefs: makeFs(file) } : { pre, makefs: undefined };
    };
    expect(unit(blank).makefs?.stderr).toMatch(/not empty/); // a file system passes the guard

    // A disk holding a partition table but no file system: systemd-makefs alone formats it
    // (it probes for file systems only); the unit refuses it and every byte stays.
    const gpt = join(dir, "gpt.img");
    writeFileSync(gpt, Buffer.alloc(64 * 1024 * 1024));
    execFileSync("sfdisk", ["-q", gpt], { input: "label: gpt\n,,L\n" });
    const before = sum(gpt);
    const run = unit(gpt);
    expect(run.pre.status).toBe(1);
    expect(run.pre.stderr).toContain("refusing to format");
    expect(run.makefs).toBeUndefined();
    expect(sum(gpt)).toBe(before);
    const copy = join(dir, "gpt-copy.img");
    writeFileSync(copy, readFileSync(gpt));
    expect(makeFs(copy).status).toBe(0);
    expect(fsType(copy)).toBe("ext4");
  });
});
