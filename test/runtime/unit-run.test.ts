/**
 * A guest unit run the way systemd runs it, from the EMITTED module: build.ts writes the flake,
 * Nix evaluates the host module (stand-in nixpkgs) and builds its scripts (shellcheck runs), the
 * test creates the guest's system user, its StateDirectory/RuntimeDirectory with the unit's owner
 * and modes, and its tap (owned by that user, in a network namespace of the test's own). Then,
 * as that unprivileged user: ExecStartPre (grow), the unit's script (exec QEMU), ExecStop with
 * MAINPID. The only stand-ins: TCG for KVM, vhost off where /dev/vhost-net is missing, and the
 * kit's tiny kernel appended to QEMU's arguments (test/support/qemu-kit/qemu-tcg).
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { build } from "../support/build-cli.ts";
import {
  build as nixBuild,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { kitMarkers } from "../support/qemu-kit/guest-init.ts";
import { kitGuest } from "../support/qemu-kit/guest.ts";
import { waitUntil, warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { REPO_ROOT } from "../support/build-cli.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

interface Unit {
  script: string;
  pre: string;
  stop: string;
  user: string;
  group: string;
  stateDirectory: string;
  runtimeDirectory: string;
  stateMode: string;
  runtimeMode: string;
  tap: string;
  tapOwner: string;
  imagePath: string;
  qmpSocket: string;
  serialLog: string;
  timeoutStopSec: number;
}

function runAsync(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", reject);
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

function sh(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

const TOOLS = [
  ...qemuKitTools,
  "nix-instantiate",
  "nix-build",
  "socat",
  "jq",
  "ip",
  "setpriv",
  "useradd",
];

describeWith(
  TOOLS,
  "a guest unit from the emitted module, run as systemd would",
  () => {
    const id = randomBytes(3).toString("hex");
    const ns = `vmflake-unit-${id}`;
    const stateRoot = `/var/lib/vmflake-unit-${id}`;
    const guests = { acpi: `alice-${id}`, deaf: `bob-${id}` } as const;
    const dir = tempDir();
    const units: Record<string, Unit> = {};
    const users: string[] = [];
    const runtimeDirs: string[] = [];

    beforeAll(async () => {
      chmodSync(dir, 0o755); // the guests' users read their unit scripts from here
      const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
      writeFileSync(
        join(dir, "hosts.ts"),
        `import { defineHosts } from ${lib};
export default defineHosts({ hosts: { testhost: {
  lan: { nic: "eth0", bridge: "br0" },
  stateDir: ${JSON.stringify(stateRoot)},
  stateVersion: "26.05",
  guests: {
    ${JSON.stringify(guests.acpi)}: { memory: "256M", disk: "1G", shutdownTimeout: 60 },
    ${JSON.stringify(guests.deaf)}: { memory: "256M", disk: "1G", shutdownTimeout: 3 },
  },
} } });
`,
      );
      const out = join(dir, "flake");
      const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
      expect(r.stderr).toBe("");

      const host = `(let o = ${flakeOutputs(out)}; nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { }; in (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.testhost ]; }).config)`;
      const evaluated = evalJson<
        Record<string, Omit<Unit, "imagePath" | "qmpSocket" | "serialLog">>
      >(
        `let c = ${host}; in builtins.listToAttrs (map (g: let s = c.systemd.services."qemu-guest-\${g}"; tap = builtins.head (builtins.filter (t: (c.networking.interfaces.\${t}.virtualOwner or null) == s.serviceConfig.User) (builtins.attrNames c.networking.interfaces)); in {
          name = g;
          value = {
            inherit (s) script;
            pre = s.serviceConfig.ExecStartPre;
            stop = s.serviceConfig.ExecStop;
            user = s.serviceConfig.User;
            group = s.serviceConfig.Group;
            stateDirectory = s.serviceConfig.StateDirectory;
            runtimeDirectory = s.serviceConfig.RuntimeDirectory;
            stateMode = s.serviceConfig.StateDirectoryMode;
            runtimeMode = s.serviceConfig.RuntimeDirectoryMode;
            timeoutStopSec = s.serviceConfig.TimeoutStopSec;
            inherit tap;
            tapOwner = c.networking.interfaces.\${tap}.virtualOwner;
          };
        }) [ ${Object.values(guests)
          .map((g) => JSON.stringify(g))
          .join(" ")} ])`,
      );
      // Realise every store path the units mention (scripts, the QEMU stand-in): building them
      // runs shellcheck on each script, as nixpkgs' writeShellApplication does.
      nixBuild(
        `let c = ${host}; nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { }; in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-deps" { } ''
          cat > $out <<'EOF'
          ${Object.values(guests)
            .map(
              (g) =>
                `\${c.systemd.services."qemu-guest-${g}".serviceConfig.ExecStartPre} \${c.systemd.services."qemu-guest-${g}".serviceConfig.ExecStop} \${c.systemd.services."qemu-guest-${g}".script}`,
            )
            .join("\n")}
          EOF
        ''`,
      );

      sh("groupadd", ["-f", "--system", "kvm"]);
      sh("ip", ["netns", "add", ns]);
      for (const [name, u] of Object.entries(evaluated)) {
        expect(u.tapOwner).toBe(u.user);
        sh("useradd", ["--system", "--no-create-home", "--user-group", "--groups", "kvm", u.user]);
        users.push(u.user);
        // As systemd creates StateDirectory=/RuntimeDirectory= for User=: owned by it, given mode.
        const state = join("/var/lib", u.stateDirectory);
        const runtime = join("/run", u.runtimeDirectory);
        runtimeDirs.push(runtime);
        for (const [d, mode] of [
          [state, u.stateMode],
          [runtime, u.runtimeMode],
        ] as const) {
          sh("mkdir", ["-p", d]);
          sh("chown", [`${u.user}:${u.group}`, d]);
          sh("chmod", [mode, d]);
        }
        sh("ip", [
          "netns",
          "exec",
          ns,
          "ip",
          "tuntap",
          "add",
          "dev",
          u.tap,
          "mode",
          "tap",
          "user",
          u.user,
        ]);
        sh("ip", ["netns", "exec", ns, "ip", "link", "set", u.tap, "up"]);
        const imagePath = /(\S+\/disk\.qcow2) \d+$/.exec(u.pre)![1]!;
        units[name] = {
          ...u,
          imagePath,
          qmpSocket: /(\S+qmp\.sock) \d+$/.exec(u.stop)![1]!,
          serialLog: join(state, "console.log"),
        };
        // A first image smaller than declared: ExecStartPre must grow it.
        sh("setpriv", [
          `--reuid=${u.user}`,
          `--regid=${u.group}`,
          "--init-groups",
          "qemu-img",
          "create",
          "-q",
          "-f",
          "qcow2",
          imagePath,
          "64M",
        ]);
      }
      kitGuest("acpi");
      kitGuest("deaf");
    }, 180_000);

    afterAll(() => {
      spawnSync("ip", ["netns", "del", ns]);
      for (const u of users) spawnSync("userdel", [u]);
      rmSync(stateRoot, { recursive: true, force: true });
      for (const d of runtimeDirs) rmSync(d, { recursive: true, force: true });
    });

    const asUser = (u: Unit, cmd: readonly string[]): string[] => [
      "setpriv",
      `--reuid=${u.user}`,
      `--regid=${u.group}`,
      "--init-groups",
      ...cmd,
    ];

    for (const [flavour, name] of Object.entries(guests) as [keyof typeof guests, string][]) {
      it(`${name} (${flavour === "acpi" ? "honours" : "ignores"} the power button): grow, start as its user, stop`, async () => {
        const u = units[name]!;
        // ExecStartPre, as the unit's user: the image grows to the declared 1G.
        const pre = spawnSync(
          asUser(u, u.pre.split(" "))[0]!,
          asUser(u, u.pre.split(" ")).slice(1),
          { encoding: "utf8" },
        );
        expect(pre.stderr).toBe("");
        expect(pre.status).toBe(0);
        const info = JSON.parse(
          sh("qemu-img", ["info", "-f", "qcow2", "--output=json", u.imagePath]),
        ) as { "virtual-size": number };
        expect(info["virtual-size"]).toBe(1024 ** 3);

        // The unit's script, as NixOS runs it (bash -e), in the namespace that holds the tap.
        const scriptFile = join(dir, `${name}.sh`);
        writeFileSync(scriptFile, `#!/bin/bash -e\n${u.script}`, { mode: 0o755 });
        const boot = kitGuest(flavour).bootArgs.join("\n");
        const qemu = spawn(
          "ip",
          [
            "netns",
            "exec",
            ns,
            ...asUser(u, ["env", `QEMU_TCG_EXTRA_ARGS=${boot}`, "bash", "-e", scriptFile]),
          ],
          {
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let output = "";
        qemu.stdout.on("data", (d: Buffer) => (output += d.toString()));
        qemu.stderr.on("data", (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((resolve) =>
          qemu.on("close", (code) => resolve(code)),
        );
        let running = true;
        void exited.then(() => (running = false));
        try {
          await waitUntil(
            `${name} to boot`,
            () =>
              !running ||
              (existsSync(u.serialLog) &&
                readFileSync(u.serialLog, "utf8").includes(kitMarkers.ready)),
            90_000,
          );
          expect(running, output).toBe(true);
          // Every exec kept the pid: it is QEMU's, and QEMU runs as the guest's user.
          const status = readFileSync(`/proc/${qemu.pid}/status`, "utf8");
          const uid = sh("id", ["-u", u.user]).trim();
          expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, "m"));
          expect(readFileSync(`/proc/${qemu.pid}/comm`, "utf8")).toMatch(/qemu/);
          expect(statSync(u.qmpSocket).uid).toBe(Number(uid));

          // ExecStop, as the unit's user, with MAINPID as systemd sets it.
          const t0 = Date.now();
          // Asynchronously: the test process is QEMU's parent and must reap it while the script
          // polls MAINPID, as systemd does (a zombie would still answer kill -0).
          const stop = await runAsync(asUser(u, u.stop.split(" ")), { MAINPID: String(qemu.pid) });
          const code = await exited;
          const ms = Date.now() - t0;
          console.log(`${name}: ExecStop → QEMU exit in ${ms} ms (${stop.stdout.trim()})`);
          expect(stop.status, stop.stderr).toBe(0);
          expect(code).toBe(0);
          expect(ms).toBeLessThan(u.timeoutStopSec * 1000);
          if (flavour === "acpi") {
            expect(stop.stdout).toMatch(/powered down/);
            expect(readFileSync(u.serialLog, "utf8")).toContain(kitMarkers.powerButton);
            expect(ms).toBeLessThan(30_000);
          } else {
            expect(stop.stdout).toMatch(/forced quit/);
            expect(ms).toBeGreaterThanOrEqual(3000);
          }
          expect(warningLines(output)).toEqual([]);
          const check = spawnSync("qemu-img", ["check", "-f", "qcow2", u.imagePath], {
            encoding: "utf8",
          });
          expect(check.status, check.stdout + check.stderr).toBe(0);
          expect(statSync(u.imagePath).uid).toBe(Number(uid));
        } finally {
          if (running) qemu.kill("SIGKILL");
        }
      }, 180_000);
    }
  },
  { root: true },
);
