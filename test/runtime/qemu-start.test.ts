/**
 * The guest's exact QEMU arguments from the runtime's builder (qemu.nix's `guest g`, evaluated by
 * real Nix; the NIC left out, as these guests have no tap) started on the real QEMU, with TCG
 * standing in for KVM (test/support/qemu-kit/qemu-tcg): QEMU accepts them without a warning, and
 * what it reports over QMP is what they say.
 */
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools, startTestGuest, type TestGuest } from "../support/qemu-kit/test-guest.ts";
import { qmp } from "../support/qmp.ts";
import { describeWith } from "../support/tools.ts";

/** A free TCP port at or above 5900, so that `display = port - 5900` is free for VNC. */
async function freeVncDisplay(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string" || address.port < 5900) {
    throw new Error(`unexpected ephemeral port ${JSON.stringify(address)}`);
  }
  return address.port - 5900;
}

describeWith(
  [...qemuKitTools, "nix-instantiate"],
  "qemu.nix's guest arguments on the real QEMU (TCG stand-in for KVM)",
  () => {
    let guest: TestGuest | undefined;
    afterEach(async () => {
      await guest?.dispose();
      guest = undefined;
    });

    /** Starts the exact list, checks what QEMU made of it, quits, and checks it said nothing. */
    async function startAndQuit(g: TestGuest): Promise<void> {
      const sock = g.runtime.qmpSocket;
      expect(await qmp(sock, "query-status")).toMatchObject({ status: "running" });
      expect(await qmp(sock, "query-name")).toEqual({ name: g.runtime.name });
      // The disk options took effect: cache=none semantics and zero detection on the qcow2 node.
      const blocks = (await qmp(sock, "query-block")) as {
        inserted?: { file: string; drv: string; cache: object; detect_zeroes: string };
      }[];
      const inserted = blocks.map((b) => b.inserted).filter((i) => i !== undefined);
      expect(inserted).toHaveLength(1);
      expect(inserted[0]).toMatchObject({
        file: g.runtime.image,
        drv: "qcow2",
        cache: { direct: true, "no-flush": false },
        detect_zeroes: "unmap",
      });
      await qmp(sock, "quit");
      expect(await g.qemu.exited).toEqual({ code: 0, signal: null });
      expect(warningLines(g.qemu.output())).toEqual([]);
    }

    it("starts without a warning (no display; no NIC, since a test guest has no tap)", async () => {
      guest = await startTestGuest(null);
      expect(await qmp(guest.runtime.qmpSocket, "query-vnc")).toMatchObject({
        enabled: false,
      });
      await startAndQuit(guest);
    });

    it("starts without a warning with VNC on loopback", async () => {
      const display = await freeVncDisplay();
      guest = await startTestGuest(null, (r) => ({ ...r, vnc: { address: "127.0.0.1", display } }));
      expect(await qmp(guest.runtime.qmpSocket, "query-vnc")).toMatchObject({
        enabled: true,
        host: "127.0.0.1",
        service: String(5900 + display),
      });
      await startAndQuit(guest);
    });

    it("self-check: a deprecated option's warning would be caught", async () => {
      // A short-form boolean, as in the 2017 command line; proves QEMU's output reaches the check.
      const path = join(tmpdir(), `vmflake-legacy-${process.pid}.sock`);
      const legacy = ["-chardev", `socket,id=legacy,path=${path},server,nowait`];
      guest = await startTestGuest(null, (r) => r, legacy);
      await qmp(guest.runtime.qmpSocket, "quit");
      await guest.qemu.exited;
      expect(warningLines(guest.qemu.output())).not.toEqual([]);
    });
  },
);
