/**
 * Real NixOS tier: a host whose guest has PCI and USB devices, evaluated by the real NixOS module
 * system down to its toplevel .drv, with both network backends. The rendered units say what the
 * runtime means: a root oneshot that runs the runtime's vfio-bind script before the guest, the
 * guest's unit requiring it, allowed the VFIO and USB nodes and its locked memory, its QEMU line
 * the builder's with the devices last; the IOMMU kernel parameters, vfio-pci loaded at boot, and
 * the udev rules for the USB devices; a guest without devices keeps its units as they were. The
 * CPU vendor is detected from a hardware configuration, and without one the evaluation fails
 * with the runtime's assertion. No device is passed through here (no IOMMU on the test machines).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../lib/mac.ts";
import { parseExecLine } from "../support/exec-line.ts";
import {
  PASSTHROUGH_ARGS,
  PASSTHROUGH_DEVICE_ALLOW,
  PASSTHROUGH_SPEC,
} from "../support/passthrough-spec.ts";
import { guestQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { runtimeScript } from "../support/runtime-files.ts";
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
  writeNixModule,
} from "./support.ts";

interface HostResult {
  readonly drvPath: string;
  readonly units: { readonly [unit: string]: string };
  readonly execDrvs: { readonly [service: string]: { readonly start: readonly string[] } };
  readonly kernelModules: readonly string[];
  readonly kernelParams: readonly string[];
  readonly udevRules: string;
  readonly failedAssertions: readonly string[];
}

describeNixpkgs("passthrough on the real NixOS module system", () => {
  let flake: BuiltFlake;
  const results: { [backend: string]: HostResult } = {};
  let intel: string;

  function evalHost(networkd: boolean, extraModules: readonly string[]): HostResult {
    const { result, seconds } = realEval<{ host: HostResult }>({
      flakeDir: flake.dir,
      scenario: "host",
      host: "study",
      networkd,
      extraModules,
    });
    reportTime(`passthrough host eval (${networkd ? "networkd" : "scripted"})`, seconds);
    return result.host;
  }

  beforeAll(async () => {
    flake = await buildFlake(PASSTHROUGH_SPEC);
    // What nixos-generate-config's hardware-configuration.nix turns on for an Intel CPU.
    intel = writeNixModule("intel", "{ hardware.cpu.intel.updateMicrocode = true; }\n");
    results.scripted = evalHost(false, [intel]);
    results.networkd = evalHost(true, [intel]);
  }, 900_000);
  afterAll(removeBuiltFlakes);

  for (const backend of ["scripted", "networkd"]) {
    it(`${backend}: the bind unit, the guest's unit, kernel parameters and udev rules`, () => {
      const h = results[backend]!;
      expect(h.failedAssertions).toEqual([]);
      expect(h.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-.*\.drv$/);

      const bind = h.units["vmflake-vfio-build.service"]!;
      expect(unitValues(bind, "Type")).toEqual(["oneshot"]);
      expect(unitValues(bind, "RemainAfterExit")).toEqual(["true"]);
      expect(unitValues(bind, "Before")).toEqual(["qemu-guest-build.service"]);
      expect(unitValues(bind, "User")).toEqual([]);
      const bindArgv = parseExecLine(unitValues(bind, "ExecStart")[0]!);
      const env = drvEnv(drvNamed(h.execDrvs["vmflake-vfio-build"]!.start, "vmflake-vfio-bind"));
      expect(bindArgv).toEqual([
        `${env.out!}/bin/vmflake-vfio-bind`,
        "vm-build",
        "0000:01:00.0",
        "0000:01:00.1",
      ]);
      expect(env.text).toContain(runtimeScript("vfio-bind"));

      const unit = h.units["qemu-guest-build.service"]!;
      const words = (key: string) => unitValues(unit, key).flatMap((v) => v.split(" "));
      expect(words("Requires")).toContain("vmflake-vfio-build.service");
      expect(words("After")).toContain("vmflake-vfio-build.service");
      expect(unitValues(unit, "DevicePolicy")).toEqual(["closed"]);
      expect(unitValues(unit, "DeviceAllow")).toEqual(PASSTHROUGH_DEVICE_ALLOW);
      expect(unitValues(unit, "LimitMEMLOCK")).toEqual(["9216M"]);
      const argv = parseExecLine(unitValues(unit, "ExecStart")[0]!);
      const expected = guestQemuArgs([
        qemuGuest({
          name: "build",
          cpus: 8,
          memoryMiB: 8192,
          image: "/var/lib/qemu-guests/build/disk.qcow2",
          qmpSocket: "/run/qemu-guests/build/qmp.sock",
          consoleLog: "/var/lib/qemu-guests/build/console.log",
          consoleSocket: "/run/qemu-guests/build/console.sock",
          tap: "vm-build",
          mac: deriveMac("study", "build"),
          extraQemuArgs: PASSTHROUGH_ARGS,
        }),
      ])[0]!;
      expect(argv.slice(1)).toEqual(expected);
      expect(argv.slice(-PASSTHROUGH_ARGS.length)).toEqual(PASSTHROUGH_ARGS);

      const alice = h.units["qemu-guest-alice.service"]!;
      expect(unitValues(alice, "DeviceAllow")).toEqual([
        "/dev/kvm rw",
        "/dev/net/tun rw",
        "/dev/vhost-net rw",
      ]);
      expect(unitValues(alice, "LimitMEMLOCK")).toEqual([]);
      expect(h.units["vmflake-vfio-alice.service"]).toBeUndefined();

      expect(h.kernelParams).toEqual(expect.arrayContaining(["intel_iommu=on", "iommu=pt"]));
      expect(h.kernelModules).toContain("vfio-pci");
      expect(h.udevRules).toContain(
        'SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="046d", ATTR{idProduct}=="c52b", OWNER="vm-build", GROUP="vm-build", MODE="0600"',
      );
    });
  }

  it("detects AMD from the hardware configuration; refuses to guess without one", () => {
    const amd = evalHost(false, [
      writeNixModule("amd", "{ hardware.cpu.amd.updateMicrocode = true; }\n"),
    ]);
    expect(amd.failedAssertions).toEqual([]);
    expect(amd.kernelParams).toContain("iommu=pt");
    expect(amd.kernelParams).not.toContain("intel_iommu=on");
    // NixOS fails the toplevel on a failed assertion, so the evaluation itself fails.
    expect(() => evalHost(false, [])).toThrow(
      'vmflake.iommu: cannot tell this host\'s CPU vendor (neither hardware.cpu.intel.updateMicrocode nor hardware.cpu.amd.updateMicrocode is on); set vmflake.iommu to "intel", "amd" or "none"',
    );
  }, 900_000);
});
