import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { runScript, writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { createImage, qemuKitTools, startTestGuest } from "../support/qemu-kit/test-guest.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { describeWith } from "../support/tools.ts";

const MiB = 1024 * 1024;

function virtualSize(image: string): number {
  const info = execFileSync("qemu-img", ["info", "-U", "-f", "qcow2", "--output=json", image], {
    encoding: "utf8",
  });
  return (JSON.parse(info) as { "virtual-size": number })["virtual-size"];
}

const checksum = (file: string): string =>
  createHash("sha256").update(readFileSync(file)).digest("hex");

describeWith(
  ["qemu-img", "qemu-io", "jq", "numfmt"],
  "ExecStartPre disk script with real qemu-img",
  () => {
    let dir = "";
    let prepare = "";
    let n = 0;
    beforeAll(() => {
      dir = scratchDir("vmflake-disk-");
      prepare = writeShellApp(dir, "qemu-guest-prepare-disk", runtimeScript("prepare-disk"));
    });
    afterAll(() => removeScratchDir(dir));

    /** A fresh qcow2 image of `bytes` in the scratch directory. */
    function image(bytes: number): string {
      const path = join(dir, `disk-${n++}.qcow2`);
      createImage(path, bytes);
      return path;
    }

    it("grows a smaller image to the declared size", async () => {
      const img = image(64 * MiB);
      const declared = 3 * virtualSize(img);
      const run = await runScript(prepare, [img, String(declared)]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(virtualSize(img)).toBe(declared);
      execFileSync("qemu-img", ["check", "-q", "-f", "qcow2", img]); // throws unless consistent
    });

    it("leaves an image of the declared size alone", async () => {
      const img = image(64 * MiB);
      const before = checksum(img);
      const run = await runScript(prepare, [img, String(virtualSize(img))]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(checksum(img)).toBe(before);
    });

    it("refuses to shrink, says why and how to proceed, and leaves the image byte-identical", async () => {
      const img = image(128 * MiB);
      const current = virtualSize(img);
      const declared = current / 2;
      const before = checksum(img);
      const run = await runScript(prepare, [img, String(declared)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("refusing to shrink");
      expect(run.stderr).toContain(img);
      expect(run.stderr).toContain(String(current)); // what to declare to keep the disk as is
      expect(run.stderr).toContain("--shrink"); // or how to shrink by hand, after the guest's FS
      expect(checksum(img)).toBe(before);
      expect(virtualSize(img)).toBe(current);
    });

    it("fails clearly on a missing image and creates nothing", async () => {
      const missing = join(dir, "missing.qcow2");
      const listing = readdirSync(dir).sort();
      const run = await runScript(prepare, [missing, String(64 * MiB)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(missing);
      expect(run.stderr).toContain("does not exist");
      expect(readdirSync(dir).sort()).toEqual(listing);
    });

    it("fails on a file that is not qcow2 and leaves it alone", async () => {
      const raw = join(dir, "raw.img");
      writeFileSync(raw, Buffer.alloc(MiB));
      const before = checksum(raw);
      const run = await runScript(prepare, [raw, String(64 * MiB)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(raw);
      expect(checksum(raw)).toBe(before);
    });

    it("rejects a declared size that is not a byte count qemu-img accepts", async () => {
      const img = image(64 * MiB);
      const before = checksum(img);
      // 2^63 is a multiple of 512 that bash's signed 64-bit arithmetic would wrap: 18 digits at most.
      const overflowing = String(2n ** 63n);
      for (const declared of ["1G", "-1", "0", String(64 * MiB + 1), overflowing, "0" + 64 * MiB]) {
        const run = await runScript(prepare, [img, declared]);
        expect(run.code, declared).toBe(2);
        expect(run.stderr).not.toBe("");
      }
      expect(checksum(img)).toBe(before);
    });

    describe("--create: a data disk", () => {
      it("creates a missing image empty, at the declared size, through a temporary name", async () => {
        const sub = join(dir, `create-${n++}`);
        mkdirSync(sub);
        const img = join(sub, "disk-data.qcow2");
        const run = await runScript(prepare, ["--create", img, String(96 * MiB)]);
        expect(run).toMatchObject({ code: 0, stderr: "" });
        expect(run.stdout).toContain(`created ${img}`);
        expect(virtualSize(img)).toBe(96 * MiB);
        execFileSync("qemu-img", ["check", "-q", "-f", "qcow2", img]);
        // Published by a link: one name, no temporary left behind.
        expect(readdirSync(sub)).toEqual(["disk-data.qcow2"]);
        expect(statSync(img).nlink).toBe(1);
      });

      it("across restarts: never recreates or rewrites an existing image, grows it, refuses to shrink it", async () => {
        const img = join(dir, `restarts-${n++}.qcow2`);
        expect((await runScript(prepare, ["--create", img, String(64 * MiB)])).code).toBe(0);
        // The guest wrote data (a qcow2 cluster with a pattern) before its next start.
        execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0x5a 0 1M", img], {
          stdio: "pipe",
        });
        const written = checksum(img);
        const ino = statSync(img).ino;
        const same = await runScript(prepare, ["--create", img, String(64 * MiB)]);
        expect(same).toMatchObject({ code: 0, stderr: "" });
        expect(same.stdout).not.toContain("created");
        expect(checksum(img)).toBe(written);
        expect(statSync(img).ino).toBe(ino);

        const grown = await runScript(prepare, ["--create", img, String(128 * MiB)]);
        expect(grown.code).toBe(0);
        expect(virtualSize(img)).toBe(128 * MiB);
        expect(statSync(img).ino).toBe(ino);
        const read = execFileSync("qemu-io", ["-f", "qcow2", "-c", "read -P 0x5a 0 1M", img], {
          encoding: "utf8",
        });
        expect(read).not.toMatch(/Pattern verification failed/);

        const before = checksum(img);
        const shrink = await runScript(prepare, ["--create", img, String(64 * MiB)]);
        expect(shrink.code).toBe(1);
        expect(shrink.stderr).toContain("refusing to shrink");
        expect(checksum(img)).toBe(before);
      });

      it("an image that appears while it creates one is kept, not replaced", async () => {
        // qemu-img stands in for a slow one: the real image shows up between its create and the
        // publishing link, which must then fail and leave the other image in place.
        const sub = join(dir, `race-${n++}`);
        mkdirSync(sub);
        const img = join(sub, "disk-data.qcow2");
        const bin = join(sub, "bin");
        mkdirSync(bin);
        const realQemuImg = execFileSync("sh", ["-c", "command -v qemu-img"], {
          encoding: "utf8",
        }).trim();
        writeFileSync(
          join(bin, "qemu-img"),
          `#!/bin/sh
set -e
"${realQemuImg}" "$@"
if [ "$1" = create ] && [ ! -e "${img}" ]; then "${realQemuImg}" create -q -f qcow2 "${img}" 32M; "${realQemuImg}" resize -q -f qcow2 "${img}" 33M; fi
`,
        );
        chmodSync(join(bin, "qemu-img"), 0o755);
        const run = await runScript(prepare, ["--create", img, String(64 * MiB)], {
          PATH: `${bin}:${process.env.PATH ?? ""}`,
        });
        // The other image (33M) stays; a larger declared size grows it, which is what a start does.
        expect(run.code).toBe(0);
        expect(run.stdout).not.toContain("created");
        expect(run.stdout).toContain("grew");
        expect(virtualSize(img)).toBe(64 * MiB);
        expect(readdirSync(sub).sort()).toEqual(["bin", "disk-data.qcow2"]);
      });

      it("creates nothing when the size is not a byte count", async () => {
        const sub = join(dir, `bad-${n++}`);
        mkdirSync(sub);
        const img = join(sub, "disk-data.qcow2");
        for (const declared of ["20G", "0", String(MiB + 1)]) {
          const run = await runScript(prepare, ["--create", img, declared]);
          expect(run.code, declared).toBe(2);
        }
        expect(readdirSync(sub)).toEqual([]);
      });
    });

    describeWith(qemuKitTools, "while QEMU holds the image", () => {
      it("fails on the image lock instead of resizing a running guest's disk", async () => {
        const guest = await startTestGuest(null);
        try {
          const before = virtualSize(guest.runtime.imagePath);
          const run = await runScript(prepare, [guest.runtime.imagePath, String(2 * before)]);
          expect(run.code).toBe(1);
          expect(run.stderr).toMatch(/lock/);
          expect(virtualSize(guest.runtime.imagePath)).toBe(before);
        } finally {
          await guest.dispose();
        }
      });
    });
  },
);
