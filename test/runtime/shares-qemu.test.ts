/**
 * Shares with real QEMU (TCG) and the runtime's command line (qemu.nix's `guest g`, evaluated by
 * real Nix). 9p: a kit guest mounts a read-write and a read-only share, reads what the host put
 * there, writes back, and is refused writing to the read-only one by QEMU itself (the guest mounts
 * it read-write on purpose, so only the host side can refuse). virtiofs: virtiofsd is not packaged
 * for this machine's Debian, so QEMU is shown to accept the device, its chardev and the shared
 * memory backend up to the vhost-user handshake, which it opens on the share's socket.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { type QemuGuest, guestQemuArgs, withoutNic } from "../support/qemu-args.ts";
import { customKitGuest } from "../support/qemu-kit/guest.ts";
import { startQemu, waitUntil, type QemuRun } from "../support/qemu-kit/qemu-process.ts";
import {
  createImage,
  qemuKitTools,
  startTestGuest,
  testImageBytes,
  testQemuGuest,
  type TestGuest,
} from "../support/qemu-kit/test-guest.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

/** A 9p share as shares.nix declares it (the socket is virtiofs's only). */
const share = (source: string, readOnly: boolean, protocol: "9p" | "virtiofs", socket = "") => ({
  source,
  readOnly,
  protocol,
  socket,
});

/** QEMU with the runtime's arguments for a guest with one virtiofs share at `socket`. */
function start(dir: string, socket: string, edit: (args: string[]) => string[] = (a) => a) {
  const g: QemuGuest = {
    ...testQemuGuest(dir, "fs"),
    shares: { media: share("/srv/media", true, "virtiofs", socket) },
  };
  createImage(g.image, testImageBytes);
  return startQemu(edit(withoutNic(guestQemuArgs([g])[0]!)));
}

/** A vhost-user back end that records what QEMU sends and never answers. */
function listen(socket: string): { server: Server; received: () => Buffer } {
  let data = Buffer.alloc(0);
  const server = createServer((c: Socket) => {
    c.on("data", (d: Buffer) => (data = Buffer.concat([data, d])));
  });
  server.listen(socket);
  return { server, received: () => data };
}

/** The guest's /init: mount both shares by tag, read, write, try to write the read-only one. */
function ninePInit(nonce: string): (modules: readonly string[]) => string {
  const opts = "trans=virtio,version=9p2000.L,msize=524288";
  return (modules) => `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /dev /proc /sys /mnt/rw /mnt/ro
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for m in ${modules.join(" ")}; do insmod "/lib/modules/$m"; done
# Both read-write in the guest: a refusal can only come from the host side.
mount -t 9p -o ${opts} rw /mnt/rw && echo "MOUNTED rw ${nonce}"
mount -t 9p -o ${opts} ro /mnt/ro && echo "MOUNTED ro ${nonce}"
echo "READ rw $(cat /mnt/rw/from-host.txt) ${nonce}"
echo "READ ro $(cat /mnt/ro/from-host.txt) ${nonce}"
if echo "guest ${nonce}" > /mnt/rw/from-guest.txt; then echo "WROTE rw ${nonce}"; fi
if echo "guest ${nonce}" > /mnt/ro/from-guest.txt; then echo "WROTE ro ${nonce}"; else echo "REFUSED ro ${nonce}"; fi
if rm /mnt/ro/from-host.txt; then echo "REMOVED ro ${nonce}"; else echo "KEPT ro ${nonce}"; fi
umount /mnt/rw /mnt/ro
sync
echo "DONE ${nonce}"
poweroff -f
`;
}

describeWith(qemuKitTools, "shares with real QEMU", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it("9p: the guest reads and writes a share, and QEMU refuses writes to a read-only one", async () => {
    const nonce = randomBytes(6).toString("hex");
    const host = scratchDir("vmflake-9p-");
    cleanup.push(() => removeScratchDir(host));
    const rw = join(host, "rw");
    const ro = join(host, "ro");
    mkdirSync(rw);
    mkdirSync(ro);
    writeFileSync(join(rw, "from-host.txt"), `rw-${nonce}`);
    writeFileSync(join(ro, "from-host.txt"), `ro-${nonce}`);

    const kit = customKitGuest(
      "9p",
      ["virtio_pci", "9pnet_virtio", "9p", "button", "evdev"],
      ninePInit(nonce),
    );
    const guest: TestGuest = await startTestGuest(kit, (g) => ({
      ...g,
      shares: { ro: share(ro, true, "9p"), rw: share(rw, false, "9p") },
    }));
    cleanup.push(() => guest.dispose());
    await waitUntil(
      `the guest's DONE ${nonce}`,
      () => guest.console().includes(`DONE ${nonce}`),
      120_000,
    );
    const lines = guest.console().split("\n");
    for (const marker of [
      "MOUNTED rw",
      "MOUNTED ro",
      `READ rw rw-${nonce}`,
      `READ ro ro-${nonce}`,
      "WROTE rw",
      "REFUSED ro",
      "KEPT ro",
    ]) {
      expect(lines, marker).toContain(`${marker} ${nonce}`);
    }
    expect(lines).not.toContain(`WROTE ro ${nonce}`);
    expect(readFileSync(join(rw, "from-guest.txt"), "utf8")).toBe(`guest ${nonce}\n`);
    expect(existsSync(join(ro, "from-guest.txt"))).toBe(false);
    expect(readFileSync(join(ro, "from-host.txt"), "utf8")).toBe(`ro-${nonce}`);
  }, 180_000);

  it("virtiofs: QEMU accepts the device, chardev and shared memory, and starts the vhost-user handshake", async () => {
    const dir = scratchDir("vmflake-vfs-");
    cleanup.push(() => removeScratchDir(dir));
    const socket = join(dir, "vault.media.sock");
    const backend = listen(socket);
    cleanup.push(() => void backend.server.close());
    const qemu: QemuRun = start(dir, socket);
    cleanup.push(async () => void (await qemu.kill()));
    // The first message of vhost-user: VHOST_USER_GET_FEATURES (1), flags 0x1 (version 1), no
    // payload. QEMU sends it while it realizes vhost-user-fs-pci, after parsing every option.
    await waitUntil(
      "QEMU's VHOST_USER_GET_FEATURES on the share's socket",
      () => backend.received().length >= 12 || !qemu.running(),
      60_000,
    );
    expect(qemu.running(), qemu.output()).toBe(true);
    const header = backend.received();
    expect(header.readUInt32LE(0)).toBe(1);
    expect(header.readUInt32LE(4) & 0x3).toBe(1);
    expect(header.readUInt32LE(8)).toBe(0);
  });

  it("virtiofs: the same check fails on a device option QEMU does not know", async () => {
    const dir = scratchDir("vmflake-vfs-");
    cleanup.push(() => removeScratchDir(dir));
    const socket = join(dir, "vault.media.sock");
    const backend = listen(socket);
    cleanup.push(() => void backend.server.close());
    const qemu = start(dir, socket, (args) =>
      args.map((a) => (a.startsWith("vhost-user-fs-pci,") ? a.replace(",tag=", ",tagg=") : a)),
    );
    cleanup.push(async () => void (await qemu.kill()));
    await qemu.exited;
    expect(qemu.output()).toMatch(/tagg/);
    expect(backend.received().length).toBe(0);
  });
});
