/**
 * Every shell program under lib/ passes writeShellApplication's checkPhase as nixpkgs runs it:
 * `bash -n`, then shellcheck with its default severity on the built file (a bash shebang, the
 * `set -o` lines, then the text). The runtime files also follow the layout the build and the
 * NixOS module rely on.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { qemuTcg } from "../support/qemu-kit/qemu-process.ts";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { libDir, runtimeScriptsDir, shellFilesUnderLib } from "../support/runtime-files.ts";
import { describeWith } from "../support/tools.ts";

/** The header line the build recognises the runtime's own files by. */
const RUNTIME_PREFIX = "# vmflake runtime: ";
const RUNTIME_LINE =
  /^# vmflake runtime: \S.*; copied verbatim into the generated flake's modules\/vmflake\/\.$/;

const shellFiles = shellFilesUnderLib();
const runtimeFiles = shellFiles.filter((f) => dirname(join(libDir, f)) === runtimeScriptsDir);

describe("shell files under lib/", () => {
  it("include the runtime scripts (so the checks below cannot pass on an empty list)", () => {
    expect(runtimeFiles.map((f) => basename(f))).toEqual([
      "check-firmware.sh",
      "format-guard.sh",
      "install-guest.sh",
      "installer.sh",
      "prepare-disk.sh",
      "stop-guest.sh",
      "tap.sh",
      "vfio-bind.sh",
      "vms.sh",
    ]);
  });

  it.each(runtimeFiles)(
    "%s: the runtime header, a shellcheck shell directive, no shebang, set -o left to the build",
    (file) => {
      const lines = readFileSync(join(libDir, file), "utf8").split("\n");
      expect(lines[0]).toMatch(RUNTIME_LINE);
      expect(lines[0]!.startsWith(RUNTIME_PREFIX)).toBe(true);
      expect(lines[1]).toBe("# shellcheck shell=bash");
      // writeShellApplication writes the shebang and the bash options itself.
      expect(lines.filter((l) => l.startsWith("#!"))).toEqual([]);
      expect(lines.filter((l) => /^set -[eou]|^set -o /.test(l))).toEqual([]);
    },
  );
});

describeWith(["shellcheck", "bash"], "shell programs pass writeShellApplication's checks", () => {
  const dir = scratchDir("vmflake-lint-");
  afterAll(() => removeScratchDir(dir));

  /** writeShellApplication's checkPhase: `bash -n`, then shellcheck on the whole file. */
  function check(path: string): void {
    execFileSync("bash", ["-n", path]);
    const sc = spawnSync("shellcheck", [path], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  }

  it.each(shellFiles)("%s, as writeShellApplication builds it", (file) => {
    const text = readFileSync(join(libDir, file), "utf8");
    check(writeShellApp(dir, file.replaceAll("/", "_").replace(/\.sh$/, ""), text));
  });

  // The same file on its own, as an editor's shellcheck sees it (the directive says bash).
  it.each(shellFiles)("%s, as it is in the repository", (file) => check(join(libDir, file)));

  it("the qemu-tcg test wrapper", () => check(qemuTcg));
});
