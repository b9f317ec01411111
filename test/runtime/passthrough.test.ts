/**
 * PCI and USB passthrough as the emitted flake evaluates it (real Nix, stand-in nixpkgs) and as
 * the real QEMU reads it (TCG standing in for KVM). No device is passed through here: the test
 * machines have no IOMMU and no device to spare. What is shown: the bind unit and what the guest's
 * unit gets from it (ordering, DeviceAllow, LimitMEMLOCK), the IOMMU parameters (chosen and
 * detected), the udev rules, the runtime's own duplicate checks; that QEMU knows every device and
 * property the runtime emits, starts with the USB devices (no device plugged: usb-host waits for
 * it) with the other devices on the slots they had without them, and with a vfio-pci device
 * fails only at opening the host's device.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, beforeAll, expect, it } from "vitest";
import { parseExecLine } from "../support/exec-line.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { evalJson, flakeOutputs, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { startQemu } from "../support/qemu-kit/qemu-process.ts";
import {
  createImage,
  qemuKitTools,
  startTestGuest,
  type TestGuest,
  testImageBytes,
  testQemuGuest,
} from "../support/qemu-kit/test-guest.ts";
import {
  PASSTHROUGH_ARGS,
  PASSTHROUGH_DEVICE_ALLOW,
  PASSTHROUGH_SPEC,
} from "../support/passthrough-spec.ts";
import { guestQemuArgs, withoutNic } from "../support/qemu-args.ts";
import { qmp } from "../support/qmp.ts";
import { removeScratchDir, scratchDir, tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));

interface Evaluated {
  bind: {
    before: string[];
    restartIfChanged: boolean;
    serviceConfig: { Type: string; RemainAfterExit: boolean; ExecStart: string };
  };
  build: {
    requires: string[];
    after: string[];
    DeviceAllow: string[];
    LimitMEMLOCK: string;
    ExecStart: string;
  };
  alice: { requires: string[]; DeviceAllow: string[]; memlock: boolean; ExecStart: string };
  extraQemuArgs: string[];
  kernelParams: string[];
  kernelModules: string[];
  udev: string;
  failed: string[];
}

describeWith(
  [...qemuKitTools, "nix-instantiate"],
  "passthrough (stand-in nixpkgs, real QEMU)",
  () => {
    const dir = tempDir();
    const out = join(dir, "flake");
    beforeAll(async () => {
      writeFileSync(
        join(dir, "hosts.ts"),
        `import { defineHosts } from ${lib};\nexport default defineHosts(${JSON.stringify(PASSTHROUGH_SPEC)});\n`,
      );
      const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    });

    /** The host study with `extra` modules, as the stand-in evaluates it. */
    const evalHost = (extra: string): Evaluated =>
      evalJson<Evaluated>(`let
        o = ${flakeOutputs(out)};
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
        c = (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.study ] ++ ${extra}; }).config;
        s = c.systemd.services;
        sc = s.qemu-guest-build.serviceConfig;
      in {
        bind = s.vmflake-vfio-build or null;
        build = {
          inherit (s.qemu-guest-build) requires after;
          inherit (sc) DeviceAllow LimitMEMLOCK ExecStart;
        };
        alice = {
          inherit (s.qemu-guest-alice) requires;
          inherit (s.qemu-guest-alice.serviceConfig) DeviceAllow ExecStart;
          memlock = s.qemu-guest-alice.serviceConfig ? LimitMEMLOCK;
        };
        inherit (c.vmflake.guests.build) extraQemuArgs;
        kernelParams = c.boot.kernelParams or [ ];
        kernelModules = c.boot.kernelModules;
        udev = c.services.udev.extraRules;
        failed = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
      }`);

    let hinted: Evaluated;
    beforeAll(() => {
      // hardware-configuration.nix of an Intel machine turns on its microcode updates.
      hinted = evalHost(`[ { hardware.cpu.intel.updateMicrocode = true; } ]`);
    });

    it("the bind unit runs the runtime's script as root before the guest, once", () => {
      expect(hinted.bind.before).toEqual(["qemu-guest-build.service"]);
      expect(hinted.bind.restartIfChanged).toBe(false);
      expect(hinted.bind.serviceConfig.Type).toBe("oneshot");
      expect(hinted.bind.serviceConfig.RemainAfterExit).toBe(true);
      const argv = parseExecLine(hinted.bind.serviceConfig.ExecStart);
      expect(argv[0]).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-vmflake-vfio-bind\/bin\/vmflake-vfio-bind$/,
      );
      expect(argv.slice(1)).toEqual(["vm-build", "0000:01:00.0", "0000:01:00.1"]);
    });

    it("the guest's unit requires the binding, may open VFIO and USB nodes, and locks its memory", () => {
      expect(hinted.build.requires).toContain("vmflake-vfio-build.service");
      expect(hinted.build.after).toContain("vmflake-vfio-build.service");
      expect(hinted.build.DeviceAllow).toEqual(PASSTHROUGH_DEVICE_ALLOW);
      // 8 GiB of guest memory and 1 GiB for QEMU's own mappings.
      expect(hinted.build.LimitMEMLOCK).toBe("9216M");
      // A guest without devices gets nothing of it.
      expect(hinted.alice.requires).not.toContain("vmflake-vfio-alice.service");
      expect(hinted.alice.DeviceAllow).toEqual([
        "/dev/kvm rw",
        "/dev/net/tun rw",
        "/dev/vhost-net rw",
      ]);
      expect(hinted.alice.memlock).toBe(false);
      expect(parseExecLine(hinted.alice.ExecStart).join(" ")).not.toMatch(/vfio|xhci|usb/);
    });

    it("the devices come last on the guest's QEMU command line", () => {
      const argv = parseExecLine(hinted.build.ExecStart);
      expect(argv.slice(-hinted.extraQemuArgs.length)).toEqual(hinted.extraQemuArgs);
      expect(hinted.extraQemuArgs).toEqual(PASSTHROUGH_ARGS);
    });

    it("IOMMU parameters: detected from the host's hardware configuration, or refused", () => {
      expect(hinted.kernelParams).toEqual(["intel_iommu=on", "iommu=pt"]);
      expect(hinted.kernelModules).toContain("vfio-pci");
      expect(hinted.failed).toEqual([]);
      const amd = evalHost(`[ { hardware.cpu.amd.updateMicrocode = true; } ]`);
      expect(amd.kernelParams).toEqual(["iommu=pt"]);
      const unknown = evalHost("[ ]");
      expect(unknown.failed).toEqual([
        'vmflake.iommu: cannot tell this host\'s CPU vendor (neither hardware.cpu.intel.updateMicrocode nor hardware.cpu.amd.updateMicrocode is on); set vmflake.iommu to "intel", "amd" or "none"',
      ]);
      const none = evalHost(`[ { vmflake.iommu = "none"; } ]`);
      expect(none.kernelParams).toEqual([]);
      expect(none.failed).toEqual([]);
    });

    it("udev gives each USB device node to the guest's user alone", () => {
      expect(hinted.udev.split("\n")).toEqual([
        'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="046d", ATTR{idProduct}=="c52b", OWNER="vm-build", GROUP="vm-build", MODE="0600"',
        'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1050", ATTR{idProduct}=="0407", KERNEL=="3-1.4", OWNER="vm-build", GROUP="vm-build", MODE="0600"',
      ]);
    });

    it("a device given to two guests by hand is refused by the runtime too", () => {
      const twice = evalHost(`[
        { hardware.cpu.intel.updateMicrocode = true; }
        { vmflake.guests.alice.pci = [ "0000:01:00.1" ]; vmflake.guests.alice.usb = [ { vendor = "046d"; product = "c52b"; } ]; }
      ]`);
      expect(twice.failed).toEqual([
        "vmflake.guests.*.pci: 0000:01:00.1 is listed by guests alice and build; a device can be in one guest only",
        "vmflake.guests.*.usb: USB device 046d:c52b is listed by guests alice and build; give bus and port to tell identical devices apart",
      ]);
    });

    it("QEMU knows every device and property the runtime emits", () => {
      const devices = hinted.extraQemuArgs.filter((_, i) => i % 2 === 1);
      for (const d of devices) {
        const [driver, ...props] = d.split(",");
        const help = execFileSync("qemu-system-x86_64", ["-device", `${driver},help`], {
          encoding: "utf8",
        });
        for (const p of props) {
          const key = p.slice(0, p.indexOf("="));
          if (key === "id" || key === "bus") continue;
          expect(help, `${driver} ${key}`).toMatch(new RegExp(`^\\s+${key}=`, "m"));
        }
      }
    });

    let guest: TestGuest | undefined;
    afterEach(async () => {
      await guest?.dispose();
      guest = undefined;
    });

    /** Each PCI device's bus, slot and function, and its class, as QEMU reports them. */
    async function pciSlots(socket: string): Promise<string[]> {
      const buses = (await qmp(socket, "query-pci")) as {
        devices: { slot: number; function: number; class_info: { class: number } }[];
      }[];
      return buses[0]!.devices.map(
        (d) => `${d.slot}.${d.function} class ${d.class_info.class.toString(16)}`,
      );
    }

    it("QEMU starts with the USB devices, the other devices on the slots they had", async () => {
      guest = await startTestGuest(null);
      const before = await pciSlots(guest.runtime.qmpSocket);
      await guest.dispose();
      const usb = hinted.extraQemuArgs.slice(4);
      guest = await startTestGuest(null, (g) => ({ ...g, extraQemuArgs: usb }));
      const after = await pciSlots(guest.runtime.qmpSocket);
      // One more function, the USB 3 controller (class 0c03), on the next free slot.
      expect(after.filter((d) => !d.endsWith(" class c03"))).toEqual(before);
      const free = Math.max(...before.map((d) => Number(d.split(".")[0])).filter((x) => x < 31));
      expect(after.filter((d) => d.endsWith(" class c03"))).toEqual([`${free + 1}.0 class c03`]);
      const usbDevices = await qmp(guest.runtime.qmpSocket, "qom-list", {
        path: "/machine/peripheral-anon",
      });
      expect(
        (usbDevices as { type: string }[]).filter((p) => p.type === "child<usb-host>"),
      ).toHaveLength(2);
      await qmp(guest.runtime.qmpSocket, "quit");
      expect(await guest.qemu.exited).toEqual({ code: 0, signal: null });
    });

    it("QEMU with a vfio-pci device fails only at opening the host's device", async () => {
      const d = scratchDir("vmflake-vfio-qemu-");
      try {
        const g = { ...testQemuGuest(d, "bare"), extraQemuArgs: hinted.extraQemuArgs };
        createImage(g.image, testImageBytes);
        const qemu = startQemu(withoutNic(guestQemuArgs([g])[0]!));
        expect(await qemu.exited).toEqual({ code: 1, signal: null });
        expect(qemu.output().trim()).toMatch(
          // -msg timestamp=on puts the time first.
          /^\S+Z qemu-system-x86_64: -device vfio-pci,host=0000:01:00\.0: vfio \/sys\/bus\/pci\/devices\/0000:01:00\.0: no such host device: No such file or directory$/,
        );
      } finally {
        removeScratchDir(d);
      }
    });
  },
);
