/** How a repository written by `vmflake init` asks for vmflake, for each way vmflake was installed. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { vmflakeSpec } from "../../cli/init/dependency-spec.ts";
import { tempDir } from "../support/temp.ts";

describe("vmflakeSpec", () => {
  const root = tempDir("vmflake-spec-");
  let n = 0;

  /** An install directory whose package.json asks for vmflake as `deps` say; vmflake's root in it. */
  function installedWith(deps: Record<string, unknown> | undefined): string {
    const dir = join(root, `install-${n++}`);
    const pkg = join(dir, "node_modules", "vmflake");
    mkdirSync(pkg, { recursive: true });
    if (deps !== undefined) writeFileSync(join(dir, "package.json"), JSON.stringify(deps));
    return pkg;
  }
  const target = join(root, "elsewhere", "my-vms");

  it("a tarball, relative to where it was installed, is rebased onto the new repository", () => {
    const pkg = installedWith({ dependencies: { vmflake: "file:../vmflake-0.1.0.tgz" } });
    expect(vmflakeSpec(pkg, "0.1.0", target)).toBe("file:../../vmflake-0.1.0.tgz");
    const bare = installedWith({ devDependencies: { vmflake: "./dist/vmflake-0.1.0.tgz" } });
    expect(vmflakeSpec(bare, "0.1.0", target)).toBe(
      `file:../../install-${n - 1}/dist/vmflake-0.1.0.tgz`,
    );
  });

  it("an absolute tarball path (as npx records it) stays that file", () => {
    const pkg = installedWith({ dependencies: { vmflake: `file:${root}/x/vmflake-0.1.0.tgz` } });
    expect(vmflakeSpec(pkg, "0.1.0", target)).toBe("file:../../x/vmflake-0.1.0.tgz");
  });

  it("a git source is kept as it was given", () => {
    for (const spec of [
      "github:me/vmflake#v0.1.0",
      "git+ssh://git@github.com/me/vmflake.git",
      "me/vmflake",
      "https://example.org/vmflake-0.1.0.tgz",
    ]) {
      expect(vmflakeSpec(installedWith({ dependencies: { vmflake: spec } }), "0.1.0", target)).toBe(
        spec,
      );
    }
  });

  it("from the registry: a caret range on the running version", () => {
    for (const spec of ["^0.1.0", "latest", "0.3.1", "*"]) {
      const pkg = installedWith({ optionalDependencies: { vmflake: spec } });
      expect(vmflakeSpec(pkg, "0.3.1", target)).toBe("^0.3.1");
    }
    expect(vmflakeSpec(installedWith(undefined), "0.3.1", target)).toBe("^0.3.1");
    expect(vmflakeSpec(installedWith({ dependencies: {} }), "0.3.1", target)).toBe("^0.3.1");
  });

  it("a clone, not installed by npm: the new repository links this copy", () => {
    const clone = join(root, "src", "vmflake");
    expect(vmflakeSpec(clone, "0.1.0", target)).toBe("file:../../src/vmflake");
  });
});
