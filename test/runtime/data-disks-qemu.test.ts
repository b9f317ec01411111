/**
 * Data disks with real QEMU (TCG) and the runtime's own parts: the disks' unit program
 * (prepare-disk.sh --create) makes the images, QEMU runs with qemu.nix's command line, and a kit
 * guest finds each disk by its serial, writes to it, and on the next start (after the declared
 * size grew) sees the larger disk with its data still there.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { customKitGuest } from "../support/qemu-kit/guest.ts";
import { runScript, writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { waitUntil } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools, startTestGuest, type TestGuest } from "../support/qemu-kit/test-guest.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

const MiB = 1024 * 1024;

/**
 * The guest's /init: print each virtio disk's serial and size (512-byte sectors), then on the
 * disk with serial `data` either write the nonce (first boot) or print what is there.
 */
function disksInit(nonce: string): (modules: readonly string[]) => string {
  return (modules) => `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in ${modules.join(" ")}; do insmod "/lib/modules/$m"; done
sleep 1
for b in /sys/block/vd*; do
  s=$(cat "$b/serial")
  echo "DISK $s $(cat "$b/size") ${nonce}"
  if [ "$s" = data ]; then
    seen=$(dd if="/dev/\${b##*/}" bs=12 count=1 2>/dev/null)
    echo "FOUND [$seen] ${nonce}"
    if [ "$seen" != "${nonce}" ]; then
      printf '%s' "${nonce}" | dd of="/dev/\${b##*/}" conv=fsync 2>/dev/null && echo "WROTE ${nonce}"
    fi
  fi
done
sync
echo "DONE ${nonce}"
poweroff -f
`;
}

describeWith([...qemuKitTools, "jq", "numfmt"], "data disks with real QEMU", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it("created by the disks' program, found by serial, grown on the next start with their data kept", async () => {
    const nonce = randomBytes(6).toString("hex");
    const dir = scratchDir("vmflake-data-");
    cleanup.push(() => removeScratchDir(dir));
    const prepare = writeShellApp(dir, "vmflake-prepare-disk", runtimeScript("prepare-disk"));
    const images = { data: join(dir, "disk-data.qcow2"), logs: join(dir, "disk-logs.qcow2") };
    const kit = customKitGuest(
      "disks",
      ["virtio_pci", "virtio_blk", "button", "evdev"],
      disksInit(nonce),
    );

    /** One start of the guest as its units do it: prepare each disk, then QEMU until power-off. */
    const boot = async (dataBytes: number): Promise<string[]> => {
      for (const [image, bytes] of [
        [images.data, dataBytes],
        [images.logs, 32 * MiB],
      ] as const) {
        const r = await runScript(prepare, ["--create", image, String(bytes)]);
        expect(r.code, r.stderr).toBe(0);
      }
      const guest: TestGuest = await startTestGuest(kit, (g) => ({
        ...g,
        disks: {
          data: { bytes: dataBytes, serial: "data", image: images.data },
          logs: { bytes: 32 * MiB, serial: "logs-1", image: images.logs },
        },
      }));
      cleanup.push(() => guest.dispose());
      await waitUntil(`DONE ${nonce}`, () => guest.console().includes(`DONE ${nonce}`), 120_000);
      await guest.qemu.exited;
      return guest.console().split("\n");
    };

    const first = await boot(64 * MiB);
    expect(first).toContain(`DISK data ${(64 * MiB) / 512} ${nonce}`);
    expect(first).toContain(`DISK logs-1 ${(32 * MiB) / 512} ${nonce}`);
    expect(first).toContain(`WROTE ${nonce}`);

    // The declared size grew: the next start grows the image; what the guest wrote is still there.
    const second = await boot(96 * MiB);
    expect(second).toContain(`DISK data ${(96 * MiB) / 512} ${nonce}`);
    expect(second).toContain(`FOUND [${nonce}] ${nonce}`);
    expect(second).not.toContain(`WROTE ${nonce}`);
  }, 300_000);
});
