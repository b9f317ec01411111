/** `vmflake init` and the command's dispatch, in-process: what is written, and every refusal. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../cli/bin.ts";
import { SCAFFOLD } from "../../cli/init/scaffold.ts";
import { REPO_ROOT } from "../support/build-cli.ts";
import { snapshotDir } from "../support/snapshot-dir.ts";
import { tempDir } from "../support/temp.ts";

const ALL = [
  "package.json",
  "tsconfig.json",
  "hosts.ts",
  "build.ts",
  ".gitignore",
  ".github/workflows/check.yml",
  "README.md",
];

async function vmflake(args: readonly string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = await main(
    args,
    { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    cwd,
  );
  return { code, stdout, stderr };
}

describe("vmflake init", () => {
  const root = tempDir("vmflake-init-");

  it("writes the seven files into a new directory and lists each one", async () => {
    const r = await vmflake(["init", "my-vms"], root);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dir = join(root, "my-vms");
    for (const path of ALL) {
      expect(existsSync(join(dir, path)), path).toBe(true);
      expect(r.stdout).toContain(`  ${path}\n`);
    }
    expect(SCAFFOLD.map((f) => f.path).sort()).toEqual([...ALL].sort());
    expect(r.stdout).toContain("cd my-vms\n  npm install\n  npx tsx build.ts\n");
  });

  it("package.json: an ES module package with build and check scripts, asking for vmflake and tsx", () => {
    const pkg = JSON.parse(readFileSync(join(root, "my-vms", "package.json"), "utf8")) as {
      name: string;
      type: string;
      private: boolean;
      scripts: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const own = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.name).toBe("my-vms");
    expect(pkg.type).toBe("module");
    expect(pkg.private).toBe(true);
    expect(pkg.scripts).toEqual({ build: "tsx build.ts", check: "tsx build.ts --check" });
    expect(pkg.devDependencies["tsx"]).toBe(own.dependencies["tsx"]);
    // Run from this clone (not installed by npm), the new repository uses this very copy.
    expect(pkg.devDependencies["vmflake"]).toBe(
      `file:${relative(join(root, "my-vms"), REPO_ROOT)}`,
    );
  });

  it("the workflow checks the flake against hosts.ts, then runs nix flake check", () => {
    const wf = readFileSync(join(root, "my-vms", ".github", "workflows", "check.yml"), "utf8");
    const runs = [...wf.matchAll(/- run: (.*)/g)].map((m) => m[1]);
    expect(runs).toEqual(["npm ci", "npx tsx build.ts --check", "nix flake check"]);
    expect(wf.indexOf("cachix/install-nix-action")).toBeLessThan(wf.indexOf("nix flake check"));
  });

  it("hosts.ts has one host and one guest with its stateVersion", () => {
    const hosts = readFileSync(join(root, "my-vms", "hosts.ts"), "utf8");
    expect(hosts).toContain('import { defineHosts } from "vmflake";');
    expect(hosts.match(/stateVersion: "\d\d\.(05|11)"/g)).toHaveLength(1);
  });

  it("the written files are prettier-clean with prettier's defaults (a new repository has no config)", () => {
    const prettier = join(REPO_ROOT, "node_modules", ".bin", "prettier");
    // .gitignore has no formatter in prettier.
    const files = ALL.filter((f) => f !== ".gitignore");
    const r = spawnSync(prettier, ["--no-config", "--no-editorconfig", "--check", ...files], {
      cwd: join(root, "my-vms"),
      encoding: "utf8",
    });
    expect(`${r.stdout}${r.stderr}`).toContain("All matched files use Prettier code style!");
    expect(r.status).toBe(0);
  });

  it("refuses a directory that holds any of its files, names them, writes nothing", async () => {
    const dir = join(root, "busy");
    mkdirSync(join(dir, ".github", "workflows"), { recursive: true });
    writeFileSync(join(dir, "README.md"), "mine\n");
    writeFileSync(join(dir, ".github", "workflows", "check.yml"), "mine\n");
    writeFileSync(join(dir, "LICENSE"), "mine\n");
    const before = snapshotDir(dir);
    const r = await vmflake(["init", "busy"], root);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "busy already has .github/workflows/check.yml, README.md; nothing was written.\n",
    );
    expect(r.stdout).toBe("");
    expect(snapshotDir(dir)).toEqual(before);
  });

  it("into the current directory by default; unrelated files (.git, LICENSE) are no obstacle", async () => {
    const dir = join(root, "here");
    mkdirSync(join(dir, ".git"), { recursive: true });
    writeFileSync(join(dir, "LICENSE"), "mine\n");
    const r = await vmflake(["init"], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Wrote a repository for your hosts to .:");
    expect(r.stdout).not.toContain("cd ");
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe("mine\n");
    const again = await vmflake(["init", "."], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`. already has ${ALL.join(", ")}; nothing was written.\n`);
  });

  it("refuses a DIR that is a file", async () => {
    writeFileSync(join(root, "plain"), "x\n");
    const r = await vmflake(["init", "plain"], root);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("plain is not a directory; nothing was written.\n");
  });

  it("wrong usage of init: exit 2 with its usage; --help: exit 0", async () => {
    const two = await vmflake(["init", "a", "b"], root);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain("Usage: npx vmflake init [DIR]");
    const opt = await vmflake(["init", "--force"], root);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("unknown option --force");
    expect(existsSync(join(root, "a"))).toBe(false);
    const help = await vmflake(["init", "--help"], root);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: npx vmflake init [DIR]");
  });
});

describe("vmflake", () => {
  const dir = tempDir("vmflake-bin-");

  it("an unknown command prints the usage and exits 2", async () => {
    const r = await vmflake(["frobnicate"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^unknown command frobnicate\n\nUsage: npx vmflake <command>/);
    expect(r.stdout).toBe("");
  });

  it("no command: the usage on stderr, exit 2; help: on stdout, exit 0", async () => {
    const none = await vmflake([], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("init [DIR]");
    const help = await vmflake(["help"], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("build [OPTIONS]");
  });

  it("build takes the build's options and writes into the current directory", async () => {
    const help = await vmflake(["build", "--help"], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--no-typecheck");
    const bad = await vmflake(["build", "--frobnicate"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option --frobnicate");

    const hosts = join(dir, "hosts.ts");
    writeFileSync(
      hosts,
      `import { defineHosts } from ${JSON.stringify(join(REPO_ROOT, "lib", "index.ts"))};
export default defineHosts({
  hosts: { lab: { lan: { nic: "eth0", bridge: "br0" }, stateVersion: "26.05", guests: { web: { memory: "1G", disk: "8G" } } } },
});
`,
    );
    const r = await vmflake(["build", "--hosts", hosts, "--no-typecheck"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "flake.nix"), "utf8")).toMatch(
      /^# Generated by vmflake from hosts\.ts/,
    );
    expect(existsSync(join(dir, "modules", "lab", "web.nix"))).toBe(true);
  });
});
