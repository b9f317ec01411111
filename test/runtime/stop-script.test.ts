import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { kitMarkers } from "../support/qemu-kit/guest-init.ts";
import { kitGuest } from "../support/qemu-kit/guest.ts";
import { waitUntil, warningLines } from "../support/qemu-kit/qemu-process.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { runScript, writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { qemuKitTools, startTestGuest, type TestGuest } from "../support/qemu-kit/test-guest.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { describeWith } from "../support/tools.ts";

/** A returning-at-once bound that still tolerates a loaded machine. */
const atOnceMs = 2000;

const stopScript = runtimeScript("stop-guest");

/** The seconds the script waits for QEMU to exit after QMP `quit`, as the script says. */
const quitGraceSeconds = Number(/^quit_grace_s=([0-9]+)$/m.exec(stopScript)?.[1]);
if (!(quitGraceSeconds > 0)) throw new Error("stop-guest.sh sets no quit_grace_s");

describeWith([...qemuKitTools, "socat"], "ExecStop script against real QEMU", () => {
  let dir = "";
  let stop = "";
  let guest: TestGuest | undefined;

  beforeAll(() => {
    dir = scratchDir("vmflake-stop-");
    stop = writeShellApp(dir, "qemu-guest-stop", stopScript);
    kitGuest("acpi"); // build the cached kit once, outside the timed tests
    kitGuest("deaf");
  });
  afterEach(async () => {
    await guest?.dispose();
    guest = undefined;
  });
  afterAll(() => removeScratchDir(dir));

  const ready = (g: TestGuest) => () => g.console().includes(kitMarkers.ready);

  /** `qemu-img check` exits 0 only for a consistent image (and only once QEMU let it go). */
  function expectCleanImage(g: TestGuest): void {
    const check = spawnSync("qemu-img", ["check", "-f", "qcow2", g.runtime.imagePath], {
      encoding: "utf8",
    });
    expect(check.stdout + check.stderr, "qemu-img check").toContain("No errors");
    expect(check.status).toBe(0);
  }

  it("quits a guest that ignores the power button once the timeout has passed", async () => {
    guest = await startTestGuest("deaf");
    // Wait until the guest OS runs, so the presses reach a system that ignores them.
    await waitUntil("the deaf guest to boot", ready(guest), 60_000);
    const timeoutS = 3;
    const run = await runScript(stop, [guest.runtime.qmpSocket, String(timeoutS)], {
      MAINPID: String(guest.qemu.pid),
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/forced quit/);
    expect(run.ms).toBeGreaterThanOrEqual(timeoutS * 1000);
    expect(run.ms).toBeLessThan((timeoutS + quitGraceSeconds) * 1000);
    // The script returned only after QEMU was gone: exited, status 0, image consistent.
    expect(guest.qemu.running()).toBe(false);
    expect(await guest.qemu.exited).toEqual({ code: 0, signal: null });
    expect(guest.console()).not.toContain(kitMarkers.powerButton);
    expectCleanImage(guest);
    expect(warningLines(guest.qemu.output())).toEqual([]);
  });

  it("lets an ACPI guest power itself off, pressing again until its handler is up", async () => {
    guest = await startTestGuest("acpi");
    // Stop at once: the first presses reach firmware or a booting kernel and are lost.
    const timeoutS = 60;
    const run = await runScript(stop, [guest.runtime.qmpSocket, String(timeoutS)], {
      MAINPID: String(guest.qemu.pid),
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/powered down/);
    expect(run.ms).toBeLessThan((timeoutS * 1000) / 2);
    expect(guest.qemu.running()).toBe(false);
    expect(await guest.qemu.exited).toEqual({ code: 0, signal: null });
    const console = guest.console();
    expect(console).toContain(kitMarkers.ready);
    expect(console.indexOf(kitMarkers.powerButton)).toBeGreaterThan(
      console.indexOf(kitMarkers.ready),
    );
    expectCleanImage(guest);
    expect(warningLines(guest.qemu.output())).toEqual([]);
  });

  it("without MAINPID, waits until the QMP socket is gone, when the image is closed", async () => {
    guest = await startTestGuest("acpi");
    await waitUntil("the ACPI guest to boot", ready(guest), 60_000);
    const run = await runScript(stop, [guest.runtime.qmpSocket, "60"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/powered down/);
    expect(existsSync(guest.runtime.qmpSocket)).toBe(false);
    expectCleanImage(guest); // would fail on QEMU's image lock if the image were still open
    expect(await guest.qemu.exited).toEqual({ code: 0, signal: null });
    expect(guest.console()).toContain(kitMarkers.powerButton);
    expect(warningLines(guest.qemu.output())).toEqual([]);
  });

  it("returns at once when there is no QEMU and no socket", async () => {
    const run = await runScript(stop, [join(dir, "absent.sock"), "60"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/not running/);
    expect(run.ms).toBeLessThan(atOnceMs);
  });

  it("returns at once when MAINPID has exited", async () => {
    const child = spawn("true");
    await new Promise((resolve) => child.on("close", resolve));
    const run = await runScript(stop, [join(dir, "absent.sock"), "60"], {
      MAINPID: String(child.pid),
    });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/not running/);
    expect(run.ms).toBeLessThan(atOnceMs);
  });

  it("returns at once on the stale socket of a killed QEMU, with or without MAINPID", async () => {
    guest = await startTestGuest(null);
    const pid = guest.qemu.pid;
    await guest.qemu.kill();
    expect(existsSync(guest.runtime.qmpSocket)).toBe(true); // left behind, refusing connections
    for (const env of [{}, { MAINPID: String(pid) }]) {
      const run = await runScript(stop, [guest.runtime.qmpSocket, "60"], env);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/not running/);
      expect(run.ms).toBeLessThan(atOnceMs);
    }
  });

  it("rejects a malformed call without touching anything", async () => {
    const sock = join(dir, "absent.sock");
    // "08" is not octal arithmetic, and a count that would wrap bash's 64-bit milliseconds into
    // a deadline already past (an immediate quit: a power cut) is refused too.
    for (const args of [[], [sock], [sock, "soon"], [sock, "08"], [sock, "9".repeat(19)]]) {
      const run = await runScript(stop, args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/usage/);
    }
  });
});
