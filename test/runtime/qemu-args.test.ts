import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { qemuArgs, type QemuGuestRuntime } from "../../lib/runtime/qemu-args.ts";

const base: QemuGuestRuntime = {
  name: "alice",
  cpus: 2,
  memoryMiB: 1536,
  imagePath: "/var/lib/qemu-guests/alice/disk.qcow2",
  diskSerial: "alice-root",
  qmpSocket: "/run/qemu-guests/alice/qmp.sock",
  serialLog: "/var/lib/qemu-guests/alice/console.log",
};
const withAll: QemuGuestRuntime = {
  ...base,
  vnc: { address: "127.0.0.1", display: 3 },
  net: { tap: "vm-alice", mac: "52:54:00:ab:cd:ef" },
};

/** The argument list as [flag, value] pairs; a flag without a value gets `undefined`. */
function pairs(args: readonly string[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    expect(flag.startsWith("-"), `${flag} at ${i} should be a flag`).toBe(true);
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      out.push([flag, next]);
      i++;
    } else out.push([flag, undefined]);
  }
  return out;
}

const values = (args: readonly string[], flag: string): string[] =>
  pairs(args)
    .filter(([f]) => f === flag)
    .map(([, v]) => v ?? "");

/** QEMU's `key=value,key=value` list as a map; the first item may be a bare type name. */
function options(value: string): Map<string, string> {
  return new Map(
    value.split(",").map((item) => {
      const eq = item.indexOf("=");
      return eq < 0 ? [item, ""] : [item.slice(0, eq), item.slice(eq + 1)];
    }),
  );
}

/** The one value of `flag` whose option list starts with `first`. */
function find(args: readonly string[], flag: string, first: string): Map<string, string> {
  const found = values(args, flag).filter((v) => v.split(",")[0]!.startsWith(first));
  expect(found, `${flag} ${first}…`).toHaveLength(1);
  return options(found[0]!);
}

describe("qemuArgs", () => {
  it("names the guest and asks for KVM, the host CPU, the declared CPUs and memory", () => {
    const args = qemuArgs(base);
    expect(find(args, "-name", "guest=").get("guest")).toBe(base.name);
    expect(values(args, "-machine")).toEqual(["q35,accel=kvm"]);
    expect(values(args, "-cpu")).toEqual(["host"]);
    expect(values(args, "-smp")).toEqual([String(base.cpus)]);
    expect(values(args, "-m")).toEqual([`${base.memoryMiB}M`]);
    expect(args).toContain("-nodefaults");
    expect(args).toContain("-no-user-config");
    expect(values(args, "-msg")).toEqual(["timestamp=on"]);
    expect(values(args, "-sandbox")).toEqual([
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
  });

  it("attaches the image as qcow2 with cache=none, io_uring and discard on a bootable virtio-blk", () => {
    const args = qemuArgs(base);
    const file = find(args, "-blockdev", "driver=file");
    const format = find(args, "-blockdev", "driver=qcow2");
    const device = find(args, "-device", "virtio-blk-pci");
    expect(file.get("filename")).toBe(base.imagePath);
    expect(format.get("file")).toBe(file.get("node-name"));
    expect(device.get("drive")).toBe(format.get("node-name"));
    expect(file.get("aio")).toBe("io_uring");
    for (const node of [file, format]) {
      expect(node.get("cache.direct")).toBe("on");
      expect(node.has("cache.no-flush")).toBe(false); // default off: guest flushes are honoured
      expect(node.get("discard")).toBe("unmap");
    }
    expect(format.get("detect-zeroes")).toBe("unmap");
    expect(device.get("serial")).toBe(base.diskSerial);
    expect(device.get("bootindex")).toBe("1");
  });

  it("has a QMP socket, a serial log, and an entropy source", () => {
    const args = qemuArgs(base);
    expect(values(args, "-qmp")).toEqual([`unix:${base.qmpSocket},server=on,wait=off`]);
    const chardev = find(args, "-chardev", "file");
    expect(chardev.get("path")).toBe(base.serialLog);
    expect(values(args, "-serial")).toEqual([`chardev:${chardev.get("id")}`]);
    const rng = find(args, "-object", "rng-random");
    expect(rng.get("filename")).toBe("/dev/urandom");
    expect(find(args, "-device", "virtio-rng-pci").get("rng")).toBe(rng.get("id"));
  });

  it("shows no display and no network unless asked", () => {
    const args = qemuArgs(base);
    expect(values(args, "-display")).toEqual(["none"]);
    expect(values(args, "-device").filter((d) => /vga|net/i.test(d))).toEqual([]);
    expect(values(args, "-netdev")).toEqual([]);
  });

  it("adds VNC with a VGA card, and a tap with vhost and the guest's MAC", () => {
    const args = qemuArgs(withAll);
    expect(values(args, "-display")).toEqual([
      `vnc=${withAll.vnc!.address}:${withAll.vnc!.display}`,
    ]);
    expect(values(args, "-device")).toContain("VGA");
    const netdev = find(args, "-netdev", "tap");
    expect(netdev.get("ifname")).toBe(withAll.net!.tap);
    expect(netdev.get("script")).toBe("no");
    expect(netdev.get("downscript")).toBe("no");
    expect(netdev.get("vhost")).toBe("on");
    const nic = find(args, "-device", "virtio-net-pci");
    expect(nic.get("netdev")).toBe(netdev.get("id"));
    expect(nic.get("mac")).toBe(withAll.net!.mac);
  });

  it("uses no removed or deprecated syntax", () => {
    for (const g of [base, withAll]) {
      const args = qemuArgs(g);
      for (const removed of ["-usbdevice", "-net", "-runas", "-chroot", "-no-acpi", "-no-hpet"]) {
        expect(args).not.toContain(removed);
      }
      expect(args.join(" ")).not.toMatch(/boot=on|if=virtio|accel=kvm:tcg|pc-q35-/);
      // Short-form booleans (`server,nowait`, `readonly`) are deprecated: after the leading type
      // name, every item of an option list must be key=value.
      for (const [flag, value] of pairs(args)) {
        for (const item of value?.split(",").slice(1) ?? []) {
          expect(item, `${flag} ${value}`).toContain("=");
        }
      }
    }
  });

  it("throws when a value contains a comma, for every field QEMU would split", () => {
    const stringFields: ((comma: string) => QemuGuestRuntime)[] = [
      (v) => ({ ...withAll, name: v }),
      (v) => ({ ...withAll, imagePath: v }),
      (v) => ({ ...withAll, diskSerial: v }),
      (v) => ({ ...withAll, qmpSocket: v }),
      (v) => ({ ...withAll, serialLog: v }),
      (v) => ({ ...withAll, vnc: { address: v, display: 1 } }),
      (v) => ({ ...withAll, net: { tap: v, mac: "52:54:00:00:00:01" } }),
      (v) => ({ ...withAll, net: { tap: "vm-a", mac: v } }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...stringFields),
        fc.string({ maxLength: 8 }),
        fc.string({ maxLength: 8 }),
        (field, before, after) => {
          expect(() => qemuArgs(field(`${before},${after}`))).toThrow(/comma/);
        },
      ),
    );
  });

  it("passes any comma-free path through unchanged", () => {
    const path = fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes(","))
      .map((s) => `/${s}`);
    fc.assert(
      fc.property(path, path, path, (imagePath, qmpSocket, serialLog) => {
        const args = qemuArgs({ ...base, imagePath, qmpSocket, serialLog });
        expect(find(args, "-blockdev", "driver=file").get("filename")).toBe(imagePath);
        expect(find(args, "-chardev", "file").get("path")).toBe(serialLog);
        expect(values(args, "-qmp")).toEqual([`unix:${qmpSocket},server=on,wait=off`]);
      }),
    );
  });

  it("rejects empty values, unusable numbers and serials longer than 20 bytes", () => {
    const bad: QemuGuestRuntime[] = [
      { ...base, name: "" },
      { ...base, cpus: 0 },
      { ...base, cpus: 1.5 },
      { ...base, memoryMiB: Number.NaN },
      { ...base, memoryMiB: -512 },
      { ...base, vnc: { address: "127.0.0.1", display: -1 } },
      { ...base, diskSerial: "x".repeat(21) },
      { ...base, diskSerial: "é".repeat(11) }, // 22 bytes in UTF-8
    ];
    for (const g of bad) expect(() => qemuArgs(g), JSON.stringify(g)).toThrow();
    expect(() => qemuArgs({ ...base, diskSerial: "x".repeat(20) })).not.toThrow();
  });
});
