/**
 * The runtime's vfio-bind script (lib/runtime/nixos/scripts/vfio-bind.sh), run as
 * writeShellApplication builds it, against a fake /sys, /proc and /dev (test/support/fake-pci/,
 * a stand-in for a host's PCI devices, with a stand-in kernel answering drivers_probe): no test
 * machine has an IOMMU or a device to spare, so no device is passed through here. What it shows:
 * devices go to vfio-pci through driver_override, unbind and drivers_probe; the group's node
 * becomes the guest user's alone; a device the host is using, a bridge, a device without an
 * IOMMU group, a group shared with an unlisted device and a missing vfio-pci are refused, every
 * reason at once, with nothing changed; hostile arguments are bad usage.
 */
import { lstatSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type FakeHost,
  driverOf,
  makeFakeHost,
  overrideOf,
  probed,
  startFakeKernel,
  unbindOf,
} from "../support/fake-pci/tree.ts";
import { runScript, writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

/** A user every test machine has; the guest's user in the unit. */
const USER = "nobody";
const NOBODY_UID = 65534;

describeWith(
  ["bash", "mkfifo", "mknod"],
  "vfio-bind against a fake /sys",
  () => {
    const dir = scratchDir("vmflake-vfio-");
    afterAll(() => removeScratchDir(dir));
    const script = writeShellApp(dir, "vmflake-vfio-bind", runtimeScript("vfio-bind"));
    let n = 0;

    /** A fresh fake host with its stand-in kernel, and a run of the script on it. */
    async function run(host: FakeHost, args: readonly string[]) {
      const root = join(dir, `host${n++}`);
      makeFakeHost(root, host);
      const kernel = startFakeKernel(root);
      try {
        const r = await runScript(script, [
          "--sysfs",
          join(root, "sys"),
          "--procfs",
          join(root, "proc"),
          "--devfs",
          join(root, "dev"),
          ...args,
        ]);
        return { ...r, root };
      } finally {
        kernel.stop();
      }
    }

    it("binds a device on a driver and its unbound group peer, and gives the group's node to the user", async () => {
      const r = await run(
        {
          devices: [
            { address: "0000:01:00.0", pciClass: "0x030000", driver: "amdgpu", group: 14 },
            { address: "0000:01:00.1", pciClass: "0x040300", group: 14 },
            // Shares the group's bridge (pcieport), which VFIO accepts.
            { address: "0000:00:01.0", pciClass: "0x060400", driver: "pcieport", group: 14 },
          ],
        },
        [USER, "0000:01:00.0", "0000:01:00.1"],
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("0000:01:00.0: unbinding from amdgpu");
      for (const a of ["0000:01:00.0", "0000:01:00.1"]) {
        expect(overrideOf(r.root, a)).toBe("vfio-pci");
        expect(driverOf(r.root, a)).toBe("vfio-pci");
      }
      expect(unbindOf(r.root, "amdgpu")).toBe("0000:01:00.0");
      expect(probed(r.root)).toEqual(["0000:01:00.0", "0000:01:00.1"]);
      expect(driverOf(r.root, "0000:00:01.0")).toBe("pcieport");
      const node = statSync(join(r.root, "dev/vfio/14"));
      expect(node.isCharacterDevice()).toBe(true);
      expect(node.uid).toBe(NOBODY_UID);
      expect(node.mode & 0o777).toBe(0o600);
    });

    it("leaves a device already on vfio-pci alone (a second start changes nothing)", async () => {
      const r = await run(
        { devices: [{ address: "0000:02:00.0", driver: "vfio-pci", group: 3 }] },
        [USER, "0000:02:00.0"],
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(probed(r.root)).toEqual([]);
      expect(overrideOf(r.root, "0000:02:00.0")).toBe("");
      expect(statSync(join(r.root, "dev/vfio/3")).uid).toBe(NOBODY_UID);
    });

    it("hands over a NIC the host has down and in no bridge", async () => {
      const r = await run(
        {
          devices: [
            {
              address: "0000:03:00.0",
              driver: "e1000e",
              group: 7,
              nics: [{ name: "enp3s0", up: false }],
            },
          ],
        },
        [USER, "0000:03:00.0"],
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(driverOf(r.root, "0000:03:00.0")).toBe("vfio-pci");
    });

    it("refuses what the host is using, bridges, IOMMU off and shared groups, all at once, changing nothing", async () => {
      const host: FakeHost = {
        devices: [
          // The host's LAN NIC, up and a port of its bridge; a second NIC only up.
          {
            address: "0000:04:00.0",
            driver: "igb",
            group: 20,
            nics: [{ name: "enp4s0", up: true, master: "vbridge0" }],
          },
          {
            address: "0000:04:00.1",
            driver: "igb",
            group: 21,
            nics: [{ name: "enp4s0f1", up: true }],
          },
          // An NVMe with the root file system, one with swap, one under LVM.
          {
            address: "0000:05:00.0",
            pciClass: "0x010802",
            driver: "nvme",
            group: 22,
            blocks: [
              { name: "nvme0n1", dev: "259:0" },
              { name: "nvme0n1p2", dev: "259:2" },
            ],
          },
          {
            address: "0000:06:00.0",
            pciClass: "0x010802",
            driver: "nvme",
            group: 23,
            blocks: [{ name: "nvme1n1", dev: "259:5" }],
          },
          {
            address: "0000:07:00.0",
            pciClass: "0x010802",
            driver: "nvme",
            group: 24,
            blocks: [{ name: "nvme2n1", dev: "259:8", holders: ["dm-0"] }],
          },
          { address: "0000:00:1c.0", pciClass: "0x060400", driver: "pcieport", group: 25 },
          // A USB controller without an IOMMU group, with a mounted USB disk: both are said.
          {
            address: "0000:08:00.0",
            driver: "xhci_hcd",
            blocks: [{ name: "sda1", dev: "8:1" }],
          },
          // A GPU whose audio function (same group) is not listed.
          { address: "0000:09:00.0", pciClass: "0x030000", driver: "nouveau", group: 26 },
          { address: "0000:09:00.1", pciClass: "0x040300", driver: "snd_hda_intel", group: 26 },
        ],
        mounted: ["259:2", "8:1"],
        swaps: ["/dev/nvme1n1"],
      };
      const all = [
        "0000:04:00.0",
        "0000:04:00.1",
        "0000:05:00.0",
        "0000:06:00.0",
        "0000:07:00.0",
        "0000:00:1c.0",
        "0000:08:00.0",
        "0000:09:00.0",
        "0000:0a:00.0",
      ];
      const r = await run(host, [USER, ...all]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines).toEqual([
        "vmflake-vfio-bind: 0000:04:00.0: the host's network interface enp4s0 is a port of vbridge0; hand over a device the host does not use",
        "vmflake-vfio-bind: 0000:04:00.1: the host's network interface enp4s0f1 is up; take it down (ip link set enp4s0f1 down) and out of the host's configuration first, or hand over another device",
        "vmflake-vfio-bind: 0000:05:00.0: the host's block device nvme0n1p2 (259:2) is mounted; unmount it first, or hand over another device",
        "vmflake-vfio-bind: 0000:06:00.0: the host's block device nvme1n1 is used as swap; swapoff /dev/nvme1n1 first, or hand over another device",
        "vmflake-vfio-bind: 0000:07:00.0: the host's block device nvme2n1 is held by dm-0 (device-mapper, LVM, RAID or encryption); stop those first, or hand over another device",
        "vmflake-vfio-bind: 0000:00:1c.0: is a bridge (PCI class 0x060400), which the host needs; hand over the devices behind it instead",
        "vmflake-vfio-bind: 0000:08:00.0: the host's block device sda1 (8:1) is mounted; unmount it first, or hand over another device",
        "vmflake-vfio-bind: 0000:08:00.0: has no IOMMU group, so the IOMMU is off: turn on VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and boot with the IOMMU kernel parameters",
        "vmflake-vfio-bind: 0000:09:00.0: its IOMMU group 26 also holds 0000:09:00.1 (driver snd_hda_intel), which is not listed; VFIO hands a group over whole, so list 0000:09:00.1 too or use another slot",
        "vmflake-vfio-bind: 0000:0a:00.0: no such PCI device on this host (lspci -D lists them)",
        "vmflake-vfio-bind: refused; no device was changed",
      ]);
      expect(probed(r.root)).toEqual([]);
      for (const d of host.devices) {
        expect(overrideOf(r.root, d.address)).toBe("");
        expect(driverOf(r.root, d.address)).toBe(d.driver);
      }
      for (const drv of ["igb", "nvme", "xhci_hcd", "nouveau", "snd_hda_intel"]) {
        expect(unbindOf(r.root, drv)).toBe("");
      }
    });

    it("refuses when vfio-pci is not loaded", async () => {
      const r = await run({ devices: [{ address: "0000:02:00.0", group: 3 }], vfioLoaded: false }, [
        USER,
        "0000:02:00.0",
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the vfio-pci driver is not loaded");
      expect(overrideOf(r.root, "0000:02:00.0")).toBe("");
    });

    describe("bad usage (exit 2, nothing read or written)", () => {
      const device = { devices: [{ address: "0000:02:00.0", group: 3 }] };
      it.each([
        ["a hostile address", [USER, "0000:02:00.0;touch /tmp/x"]],
        ["an address with a QEMU option", [USER, "0000:02:00.0,rombar=0"]],
        ["an uppercase address", [USER, "0000:0A:00.0"]],
        ["a hostile user", ["root;id", "0000:02:00.0"]],
        ["no address", [USER]],
        ["an unknown option", ["--sys", "/", USER, "0000:02:00.0"]],
      ])("%s", async (_what, args) => {
        const r = await run(device, args);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^vmflake-vfio-bind: .*\nusage: /);
        expect(probed(r.root)).toEqual([]);
        expect(overrideOf(r.root, "0000:02:00.0")).toBe("");
        expect(lstatSync(join(r.root, "dev/vfio")).isDirectory()).toBe(true);
      });
    });
  },
  { root: true },
);
