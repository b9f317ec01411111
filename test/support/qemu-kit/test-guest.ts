/**
 * One guest as a test sees it: a scratch directory holding the image, QMP socket and serial log,
 * QEMU started with exactly `qemuArgs(...)` (plus the kit's direct kernel boot, if any).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { qemuArgs, type QemuGuestRuntime } from "../../../lib/runtime/qemu-args.ts";
import { kitGuest } from "./guest.ts";
import type { KitFlavour } from "./guest-init.ts";
import { startQemu, waitForSocket, type QemuRun } from "./qemu-process.ts";
import { removeScratchDir, scratchDir } from "./scratch-dir.ts";

/** Tools the kit needs on PATH. */
export const qemuKitTools = ["qemu-system-x86_64", "qemu-img", "xz", "busybox"] as const;

/** Size of the test images: small, and what the kit guest's disk writer expects. */
export const testImageBytes = 64 * 1024 * 1024;

/** The runtime values of a guest named `name` whose files live in `dir`. */
export function testRuntime(dir: string, name: string): QemuGuestRuntime {
  return {
    name,
    cpus: 1,
    memoryMiB: 256,
    imagePath: join(dir, "disk.qcow2"),
    diskSerial: `${name}-root`,
    qmpSocket: join(dir, "qmp.sock"),
    serialLog: join(dir, "console.log"),
  };
}

/** Creates an empty qcow2 image of `bytes` at `path` with the real qemu-img. */
export function createImage(path: string, bytes: number): void {
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, String(bytes)]);
}

/** A running test guest. */
export interface TestGuest {
  dir: string;
  runtime: QemuGuestRuntime;
  qemu: QemuRun;
  /** The serial console so far, with the `\r` of serial line endings removed. */
  console(): string;
  /** Kills QEMU if still running and removes the directory. */
  dispose(): Promise<void>;
}

/**
 * Creates the image and starts QEMU with `qemuArgs(runtime)` and, for a flavour, the kit guest's
 * boot arguments (`null` boots nothing: firmware only), then `extraArgs`. Resolves once the QMP
 * socket exists.
 */
export async function startTestGuest(
  flavour: KitFlavour | null,
  adjust: (r: QemuGuestRuntime) => QemuGuestRuntime = (r) => r,
  extraArgs: readonly string[] = [],
): Promise<TestGuest> {
  const dir = scratchDir("vmflake-rt-");
  const runtime = adjust(testRuntime(dir, flavour ?? "bare"));
  createImage(runtime.imagePath, testImageBytes);
  const boot = flavour === null ? [] : kitGuest(flavour).bootArgs;
  const qemu = startQemu([...qemuArgs(runtime), ...boot, ...extraArgs]);
  const guest: TestGuest = {
    dir,
    runtime,
    qemu,
    console: () =>
      existsSync(runtime.serialLog)
        ? readFileSync(runtime.serialLog, "utf8").replace(/\r/g, "")
        : "",
    dispose: async () => {
      await qemu.kill();
      removeScratchDir(dir);
    },
  };
  try {
    await waitForSocket(qemu, runtime.qmpSocket);
  } catch (err) {
    await guest.dispose();
    throw err;
  }
  return guest;
}
