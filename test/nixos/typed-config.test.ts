/**
 * Real NixOS tier: `vmflake types` against the nixpkgs checkout in NIXPKGS (every option of its
 * NixOS, walked by real Nix), then a hosts file whose guest `config` is typed by the result
 * (openssh, users, the firewall, a systemd service; typed helpers and package references): the
 * build type-checks it with the generated types and checks its option names, and the emitted
 * guest system evaluates with the real module system (test/nixos/real-nixos.nix, "values") to
 * the values the config set.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { runBuild } from "../../cli/main.ts";
import { typecheckFile } from "../../cli/typecheck.ts";
import { NAMES_FILE, type NamesFile, TYPES_FILE } from "../../cli/types/generated-files.ts";
import { runTypes } from "../../cli/types/run-types.ts";
import { tempDir } from "../support/temp.ts";
import {
  NIXPKGS,
  REPO_ROOT,
  describeNixpkgs,
  realEval,
  realNixEnv,
  removeBuiltFlakes,
  reportTime,
} from "./support.ts";

afterAll(removeBuiltFlakes);

function hostsSource(config: string): string {
  return `import * as n from ${JSON.stringify(join(REPO_ROOT, "dsl", "index.ts"))};
import { defineHosts, mkForce, mkIf } from ${JSON.stringify(join(REPO_ROOT, "lib", "index.ts"))};

export default defineHosts({
  hosts: {
    lab: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      guests: {
        web: {
          memory: "1G",
          disk: "8G",
          config: ${config},
        },
      },
    },
  },
});
`;
}

const TYPED = `{
            services: {
              openssh: { ports: mkForce([22, 2222]), settings: { PermitRootLogin: "prohibit-password" } },
            },
            users: {
              users: { dan: { isNormalUser: true, extraGroups: ["wheel"], shell: n.pkgs.bashInteractive } },
            },
            networking: { firewall: mkIf(true, { allowedTCPPorts: [80, 443] }) },
            systemd: {
              services: {
                backup: { script: "true", startAt: "daily", serviceConfig: { Type: "oneshot" }, path: [n.pkgs.coreutils] },
              },
            },
          }`;

describeNixpkgs("vmflake types against the real NixOS tier", () => {
  const root = tempDir("vmflake-nixos-types-");
  const capture = () => {
    const out = { stdout: "", stderr: "" };
    return {
      out,
      io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t) },
    };
  };

  it(
    "generates the types of every NixOS option of NIXPKGS; a typed config checks, a typo fails",
    async () => {
      // Nix as the other real-tier tests run it (a collection can crash Debian's Nix 2.8).
      Object.assign(process.env, { GC_DONT_GC: realNixEnv.GC_DONT_GC });
      const { out, io } = capture();
      const start = performance.now();
      const code = await runTypes(["--dir", root, "--nixpkgs", NIXPKGS!], io, REPO_ROOT);
      reportTime("vmflake types (every option)", (performance.now() - start) / 1000);
      console.log(out.stdout.trim());
      expect(code, out.stderr).toBe(0);
      const names = JSON.parse(readFileSync(join(root, NAMES_FILE), "utf8")) as NamesFile;
      expect(names.source.release).toMatch(/^\d\d\.\d\d$/);
      expect(names.source.narHash).toMatch(/^sha256-/);
      expect(names.options).toHaveProperty("services.openssh.enable", 1);
      expect(names.options).toHaveProperty(["users", "users", "<name>", "isNormalUser"], 1);
      const types = readFileSync(join(root, TYPES_FILE), "utf8");
      expect(Number(/\((\d+) options/.exec(out.stdout)?.[1])).toBeGreaterThan(3000);
      // The example's committed types come from the same generator: the same nixpkgs gives the
      // same text.
      const committed = readFileSync(join(REPO_ROOT, TYPES_FILE), "utf8");
      if (committed.includes(names.source.narHash!)) expect(types).toBe(committed);

      writeFileSync(join(root, "hosts.ts"), hostsSource(TYPED));
      expect(typecheckFile(join(root, "hosts.ts"), [join(root, TYPES_FILE)])).toEqual([]);
      const typo = join(root, "typo.ts");
      writeFileSync(typo, hostsSource(TYPED.replace("isNormalUser", "isNormalUsr")));
      expect(typecheckFile(typo, [join(root, TYPES_FILE)]).join("\n")).toContain(
        "'isNormalUsr' does not exist in type 'UsersUsersEntry'. Did you mean to write 'isNormalUser'?",
      );
    },
    40 * 60_000,
  );

  it(
    "the emitted guest system of a typed config evaluates to the values it set",
    async () => {
      const { out, io } = capture();
      const flake = join(root, "flake");
      // The build type-checks with the generated types and checks the option names.
      const code = await runBuild(["--hosts", join(root, "hosts.ts"), "--out", flake], root, io);
      expect(code, out.stderr).toBe(0);
      const paths = [
        ["services", "openssh", "ports"],
        ["services", "openssh", "settings", "PermitRootLogin"],
        ["users", "users", "dan", "isNormalUser"],
        ["users", "users", "dan", "extraGroups"],
        ["users", "users", "dan", "shell", "pname"],
        ["networking", "firewall", "allowedTCPPorts"],
        ["systemd", "services", "backup", "startAt"],
        ["systemd", "services", "backup", "serviceConfig", "Type"],
      ];
      const { result: v, seconds } = realEval<{
        values: unknown[];
        failedAssertions: string[];
        drvPath: string;
      }>({ scenario: "values", flakeDir: flake, guest: "web", valuePaths: paths });
      reportTime("guest eval of a typed config", seconds);
      expect(v.failedAssertions).toEqual([]);
      expect(v.values).toEqual([
        [22, 2222],
        "prohibit-password",
        true,
        ["wheel"],
        "bash-interactive",
        expect.arrayContaining([80, 443]),
        // startAt is a string or a list of them, merged into a list.
        ["daily"],
        "oneshot",
      ]);
      expect(v.drvPath).toMatch(/^\/nix\/store\/.*\.drv$/);
    },
    20 * 60_000,
  );
});
