/**
 * A UEFI guest with a TPM, from the EMITTED module, run as systemd would run its units (the
 * manner of unit-run.test.ts): build.ts writes the flake, Nix evaluates the host module (stand-in
 * nixpkgs) and builds every program its units name, and the test creates the guest's user and
 * directories and runs each unit's argv as that user: the install unit's program (publishing the
 * image, the firmware record and the guest's NVRAM), the TPM unit's swtpm, the guest unit's
 * firmware check (ExecCondition), disk script (ExecStartPre), QEMU (ExecStart) and stop program
 * (ExecStop), twice, then the check again with the firmware changed.
 *
 * Real: QEMU (TCG for KVM, through qemu-tcg), Debian's OVMF (package ovmf: the stand-in nixpkgs'
 * OVMF links its 2 MB build, the size nixpkgs builds by default) and swtpm, qemu-img, the scripts.
 * Stand-ins: the installer VM is a shell program that plays the installer's part of the protocol
 * (the real installer's own UEFI boot needs the NixOS ISO, which this machine cannot build); the
 * guest's image holds no system, so OVMF boots the kit's kernel from an extra read-only FAT disk
 * through its shell (test/support/qemu-kit/efi-disk.ts); the NIC is left out (no tap here), and
 * systemd's sandbox settings are not applied.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { cleanupSteps } from "../support/cleanup.ts";
import { parseExecLine } from "../support/exec-line.ts";
import {
  build as nixBuild,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { withoutNic } from "../support/qemu-args.ts";
import {
  efiBootDiskArgs,
  efiDiskTools,
  efiProbe,
  writeEfiBootDisk,
} from "../support/qemu-kit/efi-disk.ts";
import { kitMarkers } from "../support/qemu-kit/guest-init.ts";
import { waitUntil, warningLines } from "../support/qemu-kit/qemu-process.ts";
import { qemuKitTools } from "../support/qemu-kit/test-guest.ts";
import { qmp } from "../support/qmp.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import {
  addSystemGroup,
  addSystemUser,
  removeSystemGroup,
  removeSystemUser,
  userIds,
} from "../network/support/system-users.ts";

interface Unit {
  requires?: string[];
  after?: string[];
  partOf?: string[];
  restartIfChanged?: boolean;
  serviceConfig: Record<string, string | string[] | number | boolean | undefined>;
}

const SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd";
const sha = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(argv: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: SYSTEMD_PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
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

/**
 * The installer VM's stand-in: it finds the serial log, the NVRAM copy and the seed in the
 * installer's QEMU arguments, checks that the NVRAM is a writable copy of the template and that
 * the seed asks for UEFI, and reports success with the seed's nonce, as the installer does.
 */
const fakeInstaller = `#!/bin/bash
set -euo pipefail
log='' vars='' seed='' prev=''
for a in "$@"; do
  case $prev in
    -chardev) if [[ $a == file,id=serial0,path=* ]]; then log=\${a#*path=}; log=\${log%%,*}; fi ;;
    -blockdev)
      case $a in
        driver=file,node-name=ovmf-vars-file,filename=*) vars=\${a#*filename=}; vars=\${vars%%,*} ;;
        driver=vvfat,*) seed=\${a#*dir=}; seed=\${seed%%,*} ;;
      esac
      ;;
  esac
  prev=$a
done
[ -w "$vars" ] && cmp -s "$vars" "$TEMPLATE" || { echo "no writable copy of the template: $vars" >&2; exit 1; }
grep -qx firmware=uefi "$seed/vmflake-install.conf" || { echo "the seed does not ask for UEFI" >&2; exit 1; }
nonce=$(sed -n 's/^nonce=//p' "$seed/vmflake-install.conf")
printf 'INSTALL_OK %s\\r\\n' "$nonce" >>"$log"
`;

describeWith(
  [
    ...qemuKitTools,
    ...efiDiskTools,
    "nix-instantiate",
    "nix-build",
    "socat",
    "jq",
    "swtpm",
    "setpriv",
    "useradd",
    "groupadd",
    "getent",
    "cmp",
  ],
  "a UEFI guest with a TPM from the emitted module, run as systemd would",
  () => {
    const id = randomBytes(3).toString("hex");
    const stateRoot = `/var/lib/vmflake-uefi-${id}`;
    const name = `vault-${id}`;
    const dir = tempDir();
    const cleanup = cleanupSteps("UEFI unit test");
    let guest: Unit;
    let tpm: Unit;
    let install: Unit;
    let user = "";
    const argv = (u: Unit, key: string): string[] => parseExecLine(u.serviceConfig[key] as string);
    const asUser = (a: readonly string[]): string[] => [
      "setpriv",
      `--reuid=${user}`,
      `--regid=${user}`,
      "--init-groups",
      ...a,
    ];
    let bootDisk = "";
    let stateDir = "";

    beforeAll(async () => {
      chmodSync(dir, 0o755);
      const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
      const hosts = join(dir, "hosts.ts");
      writeFileSync(
        hosts,
        `import { defineHosts } from ${lib};
export default defineHosts({ hosts: { testhost: {
  lan: { nic: "eth0", bridge: "br0" },
  stateDir: ${JSON.stringify(stateRoot)},
  stateVersion: "26.05",
  guests: { ${JSON.stringify(name)}: { memory: "256M", disk: "1G", firmware: "uefi", tpm: true } },
} } });
`,
      );
      const out = join(dir, "flake");
      const r = await build(["--hosts", hosts, "--out", out, "--no-typecheck"]);
      expect(r.stderr).toBe("");
      const prelude = `
        nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
        c = (nixpkgs.lib.nixosSystem { modules = [ (${flakeOutputs(out)}).nixosModules.testhost ]; }).config;
        units = [ "qemu-guest-${name}" "qemu-guest-${name}-tpm" "qemu-guest-${name}-install" ];
        sc = n: c.systemd.services.\${n}.serviceConfig;`;
      const evaluated = evalJson<{
        services: Record<string, Unit>;
        users: Record<string, { group: string; extraGroups: string[] }>;
      }>(`
        let ${prelude}
        in {
          services = builtins.listToAttrs (map (n: let s = c.systemd.services.\${n}; in {
            name = n;
            value = {
              inherit (s) serviceConfig;
              requires = s.requires or [ ];
              after = s.after or [ ];
              partOf = s.partOf or [ ];
              restartIfChanged = s.restartIfChanged or true;
            };
          }) units);
          inherit (c.users) users;
        }`);
      // Realise every program and store file the units name (the OVMF stand-in, the ISO, …).
      nixBuild(`
        let ${prelude}
          line = n: k: toString ((sc n).\${k} or "");
        in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-deps" {
          lines = builtins.concatMap (n: map (line n) [ "ExecCondition" "ExecStartPre" "ExecStart" "ExecStop" ]) units;
        } "echo \\"$lines\\" > $out"`);
      guest = evaluated.services[`qemu-guest-${name}`]!;
      tpm = evaluated.services[`qemu-guest-${name}-tpm`]!;
      install = evaluated.services[`qemu-guest-${name}-install`]!;
      user = guest.serviceConfig.User as string;
      sh("groupadd", ["-f", "--system", "kvm"]);
      addSystemGroup(user);
      cleanup.push(() => removeSystemGroup(user));
      addSystemUser(user, user, evaluated.users[user]!.extraGroups);
      cleanup.push(() => removeSystemUser(user));
      const ids = userIds(user);
      // StateDirectory= and RuntimeDirectory= of both units, made as systemd makes them.
      const dirs: [string, string][] = [];
      for (const u of [guest, tpm]) {
        for (const s of [u.serviceConfig.StateDirectory ?? []].flat() as string[]) {
          dirs.push([join("/var/lib", s), u.serviceConfig.StateDirectoryMode as string]);
        }
        dirs.push([
          join("/run", u.serviceConfig.RuntimeDirectory as string),
          u.serviceConfig.RuntimeDirectoryMode as string,
        ]);
      }
      for (const [d, mode] of dirs) {
        mkdirSync(d, { recursive: true });
        sh("chown", [`${ids.uid}:${ids.gid}`, d]);
        chmodSync(d, Number.parseInt(mode, 8));
        cleanup.push(() => rmSync(d, { recursive: true, force: true }));
      }
      cleanup.push(() => rmSync(stateRoot, { recursive: true, force: true }));
      stateDir = join("/var/lib", guest.serviceConfig.StateDirectory as string);
      bootDisk = writeEfiBootDisk(join(dir, "efi-boot.img"));
      writeFileSync(join(dir, "fake-installer"), fakeInstaller, { mode: 0o755 });
    }, 600_000);

    it("the units: swtpm as the guest's user, bound to the guest; QEMU with OVMF, the TPM and the balloon", () => {
      const tpmUnit = `qemu-guest-${name}-tpm.service`;
      expect(guest.requires).toContain(tpmUnit);
      expect(guest.after).toContain(tpmUnit);
      expect(tpm.partOf).toEqual([`qemu-guest-${name}.service`]);
      expect(tpm.restartIfChanged).toBe(false);
      expect(tpm.serviceConfig).toMatchObject({ Type: "forking", User: user, Group: user });
      const swtpm = argv(tpm, "ExecStart");
      expect(swtpm.slice(1)).toEqual([
        "socket",
        "--tpm2",
        "--tpmstate",
        `dir=${stateRoot}/${name}/tpm,mode=0600`,
        "--ctrl",
        `type=unixio,path=/run/qemu-guests/${name}-tpm/swtpm.sock,mode=0600`,
        "--pid",
        `file=/run/qemu-guests/${name}-tpm/swtpm.pid`,
        "--terminate",
        "--daemon",
      ]);
      const qemu = argv(guest, "ExecStart");
      const code = qemu.find((a) => a.includes("node-name=ovmf-code-file"))!;
      expect(code).toMatch(
        /^driver=file,node-name=ovmf-code-file,filename=\/nix\/store\/[^,]*-OVMF-fd-stand-in\/FV\/OVMF_CODE\.fd,read-only=on$/,
      );
      expect(qemu).toContain(
        `driver=file,node-name=ovmf-vars-file,filename=${stateRoot}/${name}/uefi-vars.fd`,
      );
      expect(qemu).toContain("pflash0=ovmf-code,pflash1=ovmf-vars");
      expect(qemu).toContain("tpm-crb,tpmdev=tpm0");
      expect(qemu).toContain("virtio-balloon-pci,id=balloon0,free-page-reporting=on");
      const inst = argv(install, "ExecStart");
      const dash = inst.indexOf("--");
      expect(inst.slice(0, dash)).toEqual(
        expect.arrayContaining([
          "--firmware",
          "uefi",
          "--uefi-vars",
          `${stateRoot}/${name}/uefi-vars.fd`,
        ]),
      );
      // The installer VM boots the ISO first in UEFI mode, with its own NVRAM copy in its work directory.
      expect(inst.slice(dash)).toContain(
        `driver=file,node-name=ovmf-vars-file,filename=${stateRoot}/${name}/install.tmp/uefi-vars.fd`,
      );
      expect(inst.slice(dash)).toContain("ide-cd,drive=installer,bus=ide.0,bootindex=0");
    });

    it("install publishes image, firmware record and NVRAM; the guest boots OVMF twice with its NVRAM kept and sees its TPM; a changed firmware is refused", async () => {
      const image = join(stateDir, "disk.qcow2");
      const vars = join(stateDir, "uefi-vars.fd");
      const record = join(stateDir, "firmware");

      // The install unit's program, with the installer VM played by the stand-in.
      const inst = argv(install, "ExecStart");
      const dash = inst.indexOf("--");
      const template = inst[inst.indexOf("--uefi-vars-template") + 1]!;
      expect(sha(template)).toBe(sha(OVMF_VARS));
      const installed = await run(
        asUser([...inst.slice(0, dash + 1), join(dir, "fake-installer"), ...inst.slice(dash + 2)]),
        { TEMPLATE: template },
      );
      expect(installed.status, installed.stderr + installed.stdout).toBe(0);
      expect(readFileSync(record, "utf8")).toBe("uefi\n");
      expect(sha(vars)).toBe(sha(OVMF_VARS));
      expect(statSync(vars)).toMatchObject({ uid: userIds(user).uid });
      expect(statSync(vars).mode & 0o777).toBe(0o600);
      expect(existsSync(join(stateDir, "install.tmp"))).toBe(false);
      const varsInode = statSync(vars).ino;

      const consoleLog = join(stateDir, "console.log");
      const readyCount = () =>
        existsSync(consoleLog)
          ? readFileSync(consoleLog, "utf8").split(kitMarkers.ready).length - 1
          : 0;

      for (const round of [1, 2]) {
        // The TPM unit (Requires= and After= start it first): swtpm forks once it listens.
        const swtpm = await run(asUser(argv(tpm, "ExecStart")));
        expect(swtpm.status, swtpm.stderr).toBe(0);
        const socket = `/run/qemu-guests/${name}-tpm/swtpm.sock`;
        expect(statSync(socket).isSocket()).toBe(true);
        const swtpmPid = Number(readFileSync(`/run/qemu-guests/${name}-tpm/swtpm.pid`, "utf8"));

        // The guest unit: the firmware check, the disk script, QEMU.
        const cond = await run(asUser(argv(guest, "ExecCondition")));
        expect(cond, `round ${round}`).toMatchObject({ status: 0, stderr: "" });
        const pre = await run(asUser(argv(guest, "ExecStartPre")));
        expect(pre.status, pre.stderr).toBe(0);
        const start = asUser(withoutNic(argv(guest, "ExecStart")));
        const qemu = spawn(start[0]!, start.slice(1), {
          env: { PATH: SYSTEMD_PATH, QEMU_TCG_EXTRA_ARGS: efiBootDiskArgs(bootDisk).join("\n") },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        qemu.stdout.on("data", (d: Buffer) => (output += d.toString()));
        qemu.stderr.on("data", (d: Buffer) => (output += d.toString()));
        let running = true;
        const exited = new Promise<number | null>((resolve) =>
          qemu.on("close", (c) => {
            running = false;
            resolve(c);
          }),
        );
        try {
          await waitUntil(
            `round ${round}: the kit kernel booted by OVMF`,
            () => !running || readyCount() >= round,
            300_000,
          );
          expect(running, output).toBe(true);
          const log = readFileSync(consoleLog, "utf8").replace(/\r/g, "");
          // OVMF ran from the flash chips, found nothing bootable on the blank image, and its
          // shell started the kernel from the boot disk.
          expect(log).toContain('BdsDxe: starting Boot0003 "EFI Internal Shell"');
          // The variable startup.nsh set in round 1 comes back from the NVRAM in round 2.
          expect(log.includes(efiProbe.found), log.slice(-3000)).toBe(round === 2);
          const qmpSocket = join(`/run/qemu-guests/${name}`, "qmp.sock");
          expect(await qmp(qmpSocket, "query-tpm")).toEqual([
            {
              model: "tpm-crb",
              id: "tpm0",
              options: { type: "emulator", data: { chardev: "tpm0-chr" } },
            },
          ]);
          const balloon = (await qmp(qmpSocket, "query-balloon")) as { actual: number };
          expect(balloon.actual).toBe(256 * 1024 * 1024);
        } finally {
          if (running) {
            const stop = await run(asUser(argv(guest, "ExecStop")), { MAINPID: String(qemu.pid) });
            expect(stop.status, stop.stderr).toBe(0);
          }
        }
        await exited;
        expect(warningLines(output)).toEqual([]);
        // swtpm ends with QEMU (--terminate), its TPM state kept in the guest's directory.
        await waitUntil("swtpm to end with QEMU", () => !existsSync(`/proc/${swtpmPid}`), 30_000);
        expect(existsSync(join(stateDir, "tpm", "tpm2-00.permall"))).toBe(true);
        // The NVRAM is the same file, written by the firmware, never replaced.
        expect(statSync(vars).ino).toBe(varsInode);
        expect(sha(vars)).not.toBe(sha(OVMF_VARS));
      }

      // The firmware changed in hosts.ts: the same check, declared "bios", refuses to start.
      const check = argv(guest, "ExecCondition");
      const declared = check.indexOf("--declared");
      const asBios = [...check.slice(0, declared), "--declared", "bios"];
      const varsBefore = sha(vars);
      const refused = await run(asUser(asBios));
      expect(refused.status).toBe(255);
      expect(refused.stderr).toContain(
        `guest ${name} was installed for UEFI firmware, but it is now declared with firmware "bios"`,
      );
      expect(refused.stderr).toContain('declare firmware "uefi" again');
      expect(sha(vars)).toBe(varsBefore);
      expect(readFileSync(record, "utf8")).toBe("uefi\n");
      // A second install never runs over the image, so nothing of it can be overwritten.
      const again = await run(
        asUser([...inst.slice(0, dash + 1), join(dir, "fake-installer"), ...inst.slice(dash + 2)]),
        { TEMPLATE: template },
      );
      expect(again.status).toBe(0);
      expect(again.stdout).toContain("nothing to do (an image is never overwritten)");
      expect(sha(vars)).toBe(varsBefore);
    }, 900_000);
  },
);
