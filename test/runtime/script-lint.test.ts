import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { prepareDiskScript } from "../../lib/runtime/prepare-disk-script.ts";
import { stopScript } from "../../lib/runtime/stop-script.ts";
import { qemuTcg } from "../support/qemu-kit/qemu-process.ts";
import { removeScratchDir, scratchDir } from "../support/qemu-kit/scratch-dir.ts";
import { writeShellApp } from "../support/qemu-kit/shell-app.ts";
import { describeWith } from "../support/tools.ts";

describeWith(["shellcheck", "bash"], "runtime scripts pass writeShellApplication's checks", () => {
  const dir = scratchDir("vmflake-lint-");
  afterAll(() => removeScratchDir(dir));

  /** writeShellApplication's checkPhase: `bash -n`, then shellcheck on the whole file. */
  function check(path: string): void {
    execFileSync("bash", ["-n", path]);
    const sc = spawnSync("shellcheck", [path], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  }

  it.each([
    ["qemu-guest-stop", stopScript],
    ["qemu-guest-prepare-disk", prepareDiskScript],
  ])("%s", (name, text) => check(writeShellApp(dir, name, text)));

  it("the qemu-tcg test wrapper", () => check(qemuTcg));
});
