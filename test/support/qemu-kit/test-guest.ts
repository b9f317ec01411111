/**
 * One guest as a test sees it: a scratch directory holding the image, QMP socket and serial log,
 * QEMU started with exactly the guest's arguments from the runtime's builder (qemu.nix's
 * `guest g`, evaluated by real Nix) without its NIC, since a test guest has no tap, plus the kit's
 * direct kernel boot, if any.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { guestQemuArgs, qemuGuest, withoutNic, type QemuGuest } from "../qemu-args.ts";
import { type KitGuest, kitGuest } from "./guest.ts";
import type { KitFlavour } from "./guest-init.ts";
import { startQemu, waitForSocket, type QemuRun } from "./qemu-process.ts";
import { removeScratchDir, scratchDir } from "../temp.ts";

/** Tools the kit needs on PATH. */
export const qemuKitTools = ["qemu-system-x86_64", "qemu-img", "xz", "busybox"] as const;

/** Size of the test images: small, and what the kit guest's disk writer expects. */
export const testImageBytes = 64 * 1024 * 1024;

/** What qemu.nix gets for a guest named `name` whose files live in `dir`. */
export function testQemuGuest(dir: string, name: string): QemuGuest {
  return qemuGuest({
    name,
    cpus: 1,
    memoryMiB: 256,
    image: join(dir, "disk.qcow2"),
    diskSerial: `${name}-root`,
    qmpSocket: join(dir, "qmp.sock"),
    consoleLog: join(dir, "console.log"),
    consoleSocket: join(dir, "console.sock"),
  });
}

/**
 * A test guest's builder input, plus its image and console log under the names the script tests
 * hand to the programs they run (`imagePath`, `serialLog`).
 */
export type TestRuntime = QemuGuest & { readonly imagePath: string; readonly serialLog: string };

/** Creates an empty qcow2 image of `bytes` at `path` with the real qemu-img. */
export function createImage(path: string, bytes: number): void {
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", path, String(bytes)]);
}

/** A running test guest. */
export interface TestGuest {
  dir: string;
  runtime: TestRuntime;
  qemu: QemuRun;
  /** The serial console so far, with the `\r` of serial line endings removed. */
  console(): string;
  /** Kills QEMU if still running and removes the directory. */
  dispose(): Promise<void>;
}

/**
 * Creates the image and starts QEMU with the guest's arguments from qemu.nix (without the NIC)
 * and, for a flavour or a test's own {@link KitGuest}, its boot arguments (`null` boots nothing:
 * firmware only), then
 * `extraArgs`. Resolves once the QMP socket exists.
 */
export async function startTestGuest(
  flavour: KitFlavour | KitGuest | null,
  adjust: (g: QemuGuest) => QemuGuest = (g) => g,
  extraArgs: readonly string[] = [],
): Promise<TestGuest> {
  const dir = scratchDir("vmflake-rt-");
  const name = typeof flavour === "string" ? flavour : flavour === null ? "bare" : "custom";
  const guestInput = adjust(testQemuGuest(dir, name));
  const runtime: TestRuntime = {
    ...guestInput,
    imagePath: guestInput.image,
    serialLog: guestInput.consoleLog,
  };
  let args: string[];
  try {
    args = withoutNic(guestQemuArgs([guestInput])[0]!);
    createImage(runtime.image, testImageBytes);
  } catch (err) {
    removeScratchDir(dir);
    throw err;
  }
  const boot =
    flavour === null
      ? []
      : typeof flavour === "string"
        ? kitGuest(flavour).bootArgs
        : flavour.bootArgs;
  const qemu = startQemu([...args, ...boot, ...extraArgs]);
  const guest: TestGuest = {
    dir,
    runtime,
    qemu,
    console: () =>
      existsSync(runtime.consoleLog)
        ? readFileSync(runtime.consoleLog, "utf8").replace(/\r/g, "")
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
