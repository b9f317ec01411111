/**
 * The guest unit's firmware check (scripts/check-firmware.sh, its ExecCondition) run as
 * writeShellApplication packages it, on real files: it refuses a guest whose declared firmware
 * differs from the one its image was installed for, with a message that says what changed and what
 * to do, and exits 255 for every refusal and error (systemd skips a unit silently on 1–254); it
 * makes a missing UEFI variables file from the template and never touches an existing one.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeEach, expect, it } from "vitest";
import { runtimeScript } from "../support/runtime-files.ts";
import { runScript, writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

const sha = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

describeWith(["bash"], "the guest unit's firmware check (ExecCondition)", () => {
  const bin = scratchDir("vmflake-fwcheck-bin-");
  const check = writeShellApp(bin, "vmflake-check-firmware", runtimeScript("check-firmware"));
  const template = join(bin, "OVMF_VARS.fd");
  writeFileSync(template, Buffer.alloc(4096, 0x5a));
  let dir = "";
  afterAll(() => removeScratchDir(bin));
  beforeEach(() => {
    if (dir !== "") removeScratchDir(dir);
    dir = scratchDir("vmflake-fwcheck-");
  });

  const paths = () => ({
    image: join(dir, "disk.qcow2"),
    record: join(dir, "firmware"),
    vars: join(dir, "uefi-vars.fd"),
  });
  const run = (declared: string, extra: string[] = []) => {
    const p = paths();
    const uefi =
      declared === "uefi" ? ["--uefi-vars", p.vars, "--uefi-vars-template", template] : [];
    return runScript(check, [
      "--guest",
      "vault",
      "--image",
      p.image,
      "--record",
      p.record,
      "--declared",
      declared,
      ...uefi,
      ...extra,
    ]);
  };

  it("no image yet: nothing to check (the install makes the image and its record)", async () => {
    const r = await run("uefi");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(existsSync(paths().vars)).toBe(false);
  });

  it("an image without a record was installed as BIOS: a BIOS guest starts", async () => {
    writeFileSync(paths().image, "image");
    expect(await run("bios")).toMatchObject({ code: 0, stderr: "", stdout: "" });
  });

  it("a BIOS image declared UEFI is refused: what changed, why, and both ways out", async () => {
    const p = paths();
    writeFileSync(p.image, "image");
    const r = await run("uefi");
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(
      'guest vault was installed for BIOS firmware, but it is now declared with firmware "uefi"',
    );
    expect(r.stderr).toContain("Firmware is fixed at install.");
    expect(r.stderr).toContain('declare firmware "bios" again');
    expect(r.stderr).toContain(`move ${p.image}, ${p.record}`);
    // Refusing creates nothing and touches nothing.
    expect(existsSync(p.vars)).toBe(false);
    expect(readFileSync(p.image, "utf8")).toBe("image");
  });

  it("a UEFI image declared BIOS is refused, its NVRAM untouched", async () => {
    const p = paths();
    writeFileSync(p.image, "image");
    writeFileSync(p.record, "uefi\n");
    writeFileSync(p.vars, "nvram");
    const r = await run("bios");
    expect(r.code).toBe(255);
    expect(r.stderr).toContain(
      'guest vault was installed for UEFI firmware, but it is now declared with firmware "bios"',
    );
    expect(readFileSync(p.vars, "utf8")).toBe("nvram");
  });

  it("a UEFI image declared UEFI starts; its existing variables file is never replaced", async () => {
    const p = paths();
    writeFileSync(p.image, "image");
    writeFileSync(p.record, "uefi\n");
    writeFileSync(p.vars, "nvram written by the firmware");
    const before = statSync(p.vars);
    expect(await run("uefi")).toMatchObject({ code: 0, stderr: "", stdout: "" });
    expect(readFileSync(p.vars, "utf8")).toBe("nvram written by the firmware");
    expect(statSync(p.vars).ino).toBe(before.ino);
  });

  it("a missing variables file is made from the template (mode 0600), said so, once", async () => {
    const p = paths();
    writeFileSync(p.image, "image");
    writeFileSync(p.record, "uefi\n");
    const r = await run("uefi");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`made ${p.vars} from the firmware's template`);
    expect(sha(p.vars)).toBe(sha(template));
    expect(statSync(p.vars).mode & 0o777).toBe(0o600);
    writeFileSync(p.vars, "changed by the guest");
    expect(await run("uefi")).toMatchObject({ code: 0, stdout: "" });
    expect(readFileSync(p.vars, "utf8")).toBe("changed by the guest");
  });

  it("a record with another word, bad arguments and a missing template all fail with 255", async () => {
    const p = paths();
    writeFileSync(p.image, "image");
    writeFileSync(p.record, "coreboot\n");
    const bad = await run("bios");
    expect(bad.code).toBe(255);
    expect(bad.stderr).toContain(`${p.record} says "coreboot"; it should say bios or uefi`);
    writeFileSync(p.record, "uefi\n");
    expect((await run("efi")).code).toBe(255);
    expect((await run("uefi", ["--colour", "red"])).code).toBe(255);
    const missing = await runScript(check, [
      "--guest",
      "vault",
      "--image",
      p.image,
      "--record",
      p.record,
      "--declared",
      "uefi",
      "--uefi-vars",
      p.vars,
      "--uefi-vars-template",
      join(dir, "absent.fd"),
    ]);
    expect(missing.code).toBe(255);
    expect(missing.stderr).toContain("could not copy the UEFI variables template");
    expect(existsSync(p.vars)).toBe(false);
  });
});
