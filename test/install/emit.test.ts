/**
 * The emitted installer and install units evaluated by real Nix against the stand-in
 * nixpkgs: the values that matter are what hosts.ts says (install service, seed flake source,
 * offline closures in the ISO's store, boot settings, keys, the unit ordering). Exec lines are
 * read back into the argument vectors systemd runs (docs/design.md §6.2).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../lib/mac.ts";
import { RUNTIME_FILES, RUNTIME_OUTPUT_DIR } from "../../lib/runtime/files.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { build as nixBuild } from "../support/nix.ts";
import { installQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { emitFlake, evalFlake, flakeLet } from "./support/install-flake.ts";

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

/** The program of a runtime script as writeShellApplication builds it (`vmflake-<name>`). */
const program = (name: string) =>
  new RegExp(`^/nix/store/[a-z0-9]{32}-vmflake-${name}/bin/vmflake-${name}$`);
/** The stand-in's qemu_kvm (TCG behind the name; docs/design.md §7.2). */
const QEMU = /^\/nix\/store\/[a-z0-9]{32}-qemu-kvm-stand-in\/bin\/qemu-kvm$/;

/** The value after `flag` in an argument vector. */
const opt = (argv: readonly string[], flag: string) => argv[argv.indexOf(flag) + 1];

/**
 * Builds every store path the host's install units and the installer's service name (the
 * scripts, so shellcheck runs; the ISO; the seed's flake; the offline systems): they are in the
 * environment of a derivation, which depends on them.
 */
function buildInstallDeps(out: string, hostName: string, guests: readonly string[]): void {
  const list = `[ ${guests.map((g) => JSON.stringify(g)).join(" ")} ]`;
  nixBuild(`let ${flakeLet(out, hostName)} in nixpkgs.legacyPackages.x86_64-linux.runCommand "install-deps" {
    units = map (g: host.systemd.services."qemu-guest-\${g}-install".serviceConfig.ExecStart) ${list};
    installerExec = installer.systemd.services.vmflake-install.serviceConfig.ExecStart;
    storeContents = installer.isoImage.storeContents or [ ];
    etc = builtins.attrValues (builtins.mapAttrs (n: e: "\${e.source}") (installer.environment.etc or { }));
  } "echo built > $out"`);
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out.push(relative(dir, f));
    }
  };
  walk(dir);
  return out.sort();
}

describeWith(
  ["nix-instantiate", "nix-build", "shellcheck"],
  "emitted installer (stand-in nixpkgs)",
  () => {
    const dir = tempDir("vmflake-inst-emit-");
    let out = "";
    const ev = <T>(host: string, body: string): T => evalFlake<T>(out, host, body);

    beforeAll(async () => {
      out = await emitFlake(
        dir,
        `{ hosts: {
        study: {
          lan: { nic: "enp0s31f6", bridge: "vbridge0" },
          sshKeys: [${JSON.stringify(KEY)}],
          stateVersion: "26.05",
          guests: {
            alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" },
            bob: { memory: "4G", disk: "20G", cpus: 2, offlineInstall: true, installTimeout: 600 },
          },
        },
        lab: {
          lan: { nic: "eno1", bridge: "br0" },
          offlineInstall: true,
          stateVersion: "26.05",
          guests: {
            carol: { memory: "512M", disk: "4G" },
            dave: { memory: "512M", disk: "4G", offlineInstall: false },
          },
        },
        net: {
          lan: { nic: "eno1", bridge: "br0" },
          stateVersion: "26.05",
          guests: { erin: { memory: "512M", disk: "4G" } },
        },
      } }`,
      );
      // A lock file and a stray file next to the flake: the lock goes to the seed, the rest not.
      writeFileSync(join(out, "flake.lock"), '{ "nodes": {}, "root": "root", "version": 7 }\n');
      writeFileSync(join(out, "notes.txt"), "not part of the flake\n");
      // Build every store path the units and the installer name (the scripts: shellcheck runs).
      buildInstallDeps(out, "study", ["alice", "bob"]);
      buildInstallDeps(out, "lab", ["carol", "dave"]);
      buildInstallDeps(out, "net", ["erin"]);
    });

    it("emits one installer module per host", () => {
      expect(filesUnder(join(out, "modules", "installer"))).toEqual([
        "lab.nix",
        "net.nix",
        "study.nix",
      ]);
    });

    it("packages.<system>.installer-<host> is the ISO of that module's system, handed to the host", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `{
        names = builtins.attrNames self.packages.x86_64-linux;
        same = self.packages.x86_64-linux.installer-study.drvPath == installerSystem.config.system.build.isoImage.drvPath;
        given = host.vmflake.installer.package.drvPath == self.packages.x86_64-linux.installer-study.drvPath;
        iso = host.vmflake.installer.iso;
        package = "\${self.packages.x86_64-linux.installer-study}";
        valuesFileIsAFunction = builtins.isFunction (import (dir + "/modules/study.nix"));
      }`,
      );
      expect(v).toEqual({
        names: ["installer-lab", "installer-net", "installer-study"],
        same: true,
        given: true,
        iso: `${v.package as string}/iso/vmflake-installer-study.iso`,
        package: expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-vmflake-installer-study/),
        // The values file takes no module arguments: the flake sets vmflake.installer.package.
        valuesFileIsAFunction: false,
      });
      const flake = readFileSync(join(out, "flake.nix"), "utf8");
      expect(flake).toContain(
        "vmflake.installer.package = self.packages.x86_64-linux.installer-study;",
      );
      expect(flake).not.toContain("vmflakeInstaller");
    });

    it("installer: the minimal CD, a fixed ISO name, no channel, quick boot, serial console", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `{
        inherit (installer.image) baseName;
        channel = installer.system.installer.channel.enable;
        inherit (installer.boot.loader) timeout;
        inherit (installer.boot) kernelParams;
        inherit (installer.nixpkgs) hostPlatform;
        compression = installer.isoImage.squashfsCompression;
        storeContents = installer.isoImage.storeContents or [ ];
        isoFile = builtins.readDir "\${installer.system.build.isoImage}/iso";
        inherit (installer.vmflake.installer) hostName token;
      }`,
      );
      expect(v).toEqual({
        baseName: "vmflake-installer-study",
        channel: false,
        timeout: 1,
        kernelParams: ["console=tty0", "console=ttyS0,115200n8"],
        hostPlatform: "x86_64-linux",
        compression: "zstd -Xcompression-level 6",
        storeContents: [expect.stringMatching(/-nixos-system-bob-stand-in$/)],
        isoFile: { "vmflake-installer-study.iso": "regular" },
        hostName: "study",
        token: "vmflake-install-opt-in/study",
      });
      // The host's installer file holds values; the runtime's installer module is the CD.
      const values = readFileSync(join(out, "modules/installer/study.nix"), "utf8");
      expect(values).toContain("imports = [ ../vmflake/installer.nix ];");
      const runtime = readFileSync(join(out, "modules/vmflake/installer.nix"), "utf8");
      expect(runtime).toContain('(modulesPath + "/installer/cd-dvd/installation-cd-minimal.nix")');
    });

    it("installer: the install service, its program (the script, shellcheck-clean) and its tools", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `let s = installer.systemd.services.vmflake-install; in {
        inherit (s) wantedBy unitConfig environment;
        inherit (s.serviceConfig) Type ExecStart StandardOutput StandardError;
      }`,
      );
      expect({ ...v, ExecStart: undefined }).toEqual({
        wantedBy: ["multi-user.target"],
        unitConfig: { ConditionVirtualization: "vm" },
        environment: { HOME: "/root" },
        Type: "oneshot",
        ExecStart: undefined,
        StandardOutput: "journal+console",
        StandardError: "journal+console",
      });
      const argv = parseExecLine(v.ExecStart as string);
      expect(argv[0]).toMatch(program("install"));
      expect(argv.slice(1)).toEqual(["--host", "study", "--token", "vmflake-install-opt-in/study"]);
      // Built in beforeAll (the stand-in writeShellApplication ran shellcheck): its text is the script.
      const text = readFileSync(argv[0]!, "utf8");
      expect(text.endsWith(runtimeScript("installer"))).toBe(true);
      execFileSync("shellcheck", [argv[0]!]);
      const path = /^export PATH="([^"]*):\$PATH"$/m.exec(text)![1]!;
      expect(path.split(":").map((p) => p.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""))).toEqual([
        "coreutils/bin",
        "util-linux/bin",
        "e2fsprogs/bin",
        "dosfstools/bin",
        "systemd/bin",
        "nix/bin",
        "nixos-install-stand-in/bin",
      ]);
    });

    it("installer: offline guests' systems in the ISO's store and linked by name; others not", () => {
      const v = ev<Record<string, unknown>>(
        "lab",
        `{
        store = map (p: "\${p}") installer.isoImage.storeContents;
        carol = "\${self.nixosConfigurations.carol.config.system.build.toplevel}";
        etc = builtins.mapAttrs (n: e: "\${e.source}") installer.environment.etc;
        offline = builtins.mapAttrs (n: s: "\${s}") installer.vmflake.installer.offlineSystems;
        listed = builtins.readFile "\${installer.system.build.isoImage}/store-contents";
      }`,
      );
      expect(v.store).toEqual([v.carol]);
      expect(v.etc).toEqual({ "vmflake/offline/carol": v.carol });
      expect(v.offline).toEqual({ carol: v.carol });
      expect(v.listed).toBe(`${v.carol as string}\n`);
      // A host with only network installs: the ISO carries no guest and needs no guest systems.
      expect(
        ev(
          "net",
          `{
            store = installer.isoImage.storeContents or [ ];
            etc = installer.environment.etc or { };
            offline = installer.vmflake.installer.offlineSystems;
            arg = let m = import (dir + "/modules/installer/net.nix"); in builtins.isFunction m && (builtins.functionArgs m) ? guestSystems;
          }`,
        ),
      ).toEqual({ store: [], etc: {}, offline: {}, arg: false });
      const flake = readFileSync(join(out, "flake.nix"), "utf8");
      expect(flake).toMatch(
        /installer-net =\s+\(nixpkgs\.lib\.nixosSystem \{ modules = \[ \.\/modules\/installer\/net\.nix \]; \}\)/,
      );
      expect(flake).toMatch(
        /installer-lab =\s+\(nixpkgs\.lib\.nixosSystem \{\s+modules = \[\s+\.\/modules\/installer\/lab\.nix\s+\{ _module\.args\.guestSystems = self\.nixosConfigurations; \}/,
      );
      const labValues = readFileSync(join(out, "modules/installer/lab.nix"), "utf8");
      expect(labValues).toContain("carol = guestSystems.carol.config.system.build.toplevel;");
      expect(labValues).not.toContain("dave");
    });

    it("guest unit requires and is ordered after its install unit, which runs only without an image", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `let g = host.systemd.services.qemu-guest-alice; i = host.systemd.services.qemu-guest-alice-install; in {
        requires = g.requires;
        after = g.after;
        bindsTo = g.bindsTo or [ ];
        condition = i.unitConfig.ConditionPathExists;
        inherit (i) restartIfChanged;
        installRequires = i.requires;
        installAfter = i.after;
        installBindsTo = i.bindsTo or [ ];
        installScript = i.script or null;
        inherit (i.serviceConfig) Type User Group StateDirectory StateDirectoryMode TimeoutStartSec NoNewPrivileges ProtectSystem DevicePolicy UMask;
        wanted = i.wantedBy or [ ];
        bobInstall = let b = host.systemd.services.qemu-guest-bob-install; in {
          requires = b.requires or [ ];
          after = b.after or [ ];
          timeout = b.serviceConfig.TimeoutStartSec;
          condition = b.unitConfig.ConditionPathExists;
        };
      }`,
      );
      expect(v).toEqual({
        requires: ["vmflake-tap-tap0.service", "qemu-guest-alice-install.service"],
        after: [
          "network.target",
          "vmflake-tap-tap0.service",
          "vbridge0-netdev.service",
          "qemu-guest-alice-install.service",
        ],
        bindsTo: [],
        condition: "!/var/lib/qemu-guests/alice/disk.qcow2",
        restartIfChanged: false,
        // A network install needs the guest's tap; its unit is never restarted by a rebuild.
        installRequires: ["vmflake-tap-tap0.service"],
        installAfter: ["network.target", "vmflake-tap-tap0.service", "vbridge0-netdev.service"],
        installBindsTo: [],
        installScript: null,
        Type: "oneshot",
        User: "vm-alice",
        Group: "vm-alice",
        StateDirectory: "qemu-guests/alice",
        StateDirectoryMode: "0750",
        TimeoutStartSec: 1800 + 130,
        NoNewPrivileges: true,
        ProtectSystem: "strict",
        DevicePolicy: "closed",
        UMask: "0027",
        wanted: [],
        // An offline install has no network: no tap, no network ordering.
        bobInstall: {
          requires: [],
          after: [],
          timeout: 600 + 130,
          condition: "!/var/lib/qemu-guests/bob/disk.qcow2",
        },
      });
    });

    it("install unit ExecStart: the install program, the ISO, the flake for network installs, QEMU", () => {
      const v = ev<Record<string, string>>(
        "study",
        `{
        alice = host.systemd.services.qemu-guest-alice-install.serviceConfig.ExecStart;
        bob = host.systemd.services.qemu-guest-bob-install.serviceConfig.ExecStart;
        iso = "\${self.packages.x86_64-linux.installer-study}";
      }`,
      );
      const alice = parseExecLine(v.alice!);
      expect(alice[0]).toMatch(program("install-guest"));
      expect(opt(alice, "--host")).toBe("study");
      expect(opt(alice, "--guest")).toBe("alice");
      expect(opt(alice, "--image")).toBe("/var/lib/qemu-guests/alice/disk.qcow2");
      expect(opt(alice, "--disk-bytes")).toBe(String(40n << 30n));
      expect(opt(alice, "--disk-serial")).toBe("vmflake-root");
      expect(opt(alice, "--work")).toBe("/var/lib/qemu-guests/alice/install.tmp");
      expect(opt(alice, "--log")).toBe("/var/lib/qemu-guests/alice/install.log");
      expect(opt(alice, "--timeout")).toBe("1800");
      expect(opt(alice, "--token")).toBe("vmflake-install-opt-in/study");
      expect(opt(alice, "--iso")).toBe(`${v.iso}/iso/vmflake-installer-study.iso`);
      expect(opt(alice, "--flake")).toMatch(/^\/nix\/store\/[a-z0-9]{32}-vmflake-flake$/);
      const qemu = alice.slice(alice.indexOf("--") + 1);
      expect(qemu[0]).toMatch(QEMU);
      expect(opt(qemu, "-m")).toBe("3072M"); // at least 3 GiB to evaluate NixOS
      expect(qemu).toContain("-no-reboot");
      expect(opt(qemu, "-boot")).toBe("once=d");
      expect(opt(qemu, "-display")).toBe("vnc=127.0.0.1:1"); // alice's VNC; she is not running
      expect(opt(qemu, "-netdev")).toBe("tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on");
      expect(qemu).toContain(
        "driver=vvfat,node-name=seed,dir=/var/lib/qemu-guests/alice/install.tmp/seed,fat-type=16,label=VMFLAKESEED,read-only=on",
      );
      expect(qemu).toContain("virtio-blk-pci,drive=disk0,serial=vmflake-root");
      expect(qemu.join(" ")).not.toContain("bootindex");

      const bob = parseExecLine(v.bob!);
      expect(bob).not.toContain("--flake");
      expect(opt(bob, "--timeout")).toBe("600");
      const bobQemu = bob.slice(bob.indexOf("--") + 1);
      expect(opt(bobQemu, "-m")).toBe("4096M");
      expect(opt(bobQemu, "-smp")).toBe("2");
      expect(opt(bobQemu, "-display")).toBe("none");
      expect(bobQemu).not.toContain("-netdev");

      // Exactly: install-guest's options, then QEMU with qemu.nix's installer arguments.
      const guest = (name: string, over: Partial<Parameters<typeof qemuGuest>[0]>) =>
        qemuGuest({
          name,
          image: `/var/lib/qemu-guests/${name}/disk.qcow2`,
          qmpSocket: `/run/qemu-guests/${name}/qmp.sock`,
          mac: deriveMac("study", name),
          ...over,
        });
      const [aliceArgs, bobArgs] = installQemuArgs([
        guest("alice", { memoryMiB: 1024, tap: "tap0", vnc: { display: 1, address: "127.0.0.1" } }),
        guest("bob", {
          memoryMiB: 4096,
          cpus: 2,
          tap: "vm-bob",
          install: {
            offline: true,
            memoryMiB: 4096,
            workDir: "/var/lib/qemu-guests/bob/install.tmp",
            log: "/var/lib/qemu-guests/bob/install.log",
          },
        }),
      ]);
      const options = (g: string, bytes: bigint, timeout: string) => [
        "--host",
        "study",
        "--guest",
        g,
        "--image",
        `/var/lib/qemu-guests/${g}/disk.qcow2`,
        "--disk-bytes",
        String(bytes),
        "--disk-serial",
        "vmflake-root",
        "--work",
        `/var/lib/qemu-guests/${g}/install.tmp`,
        "--log",
        `/var/lib/qemu-guests/${g}/install.log`,
        "--timeout",
        timeout,
        "--token",
        "vmflake-install-opt-in/study",
        "--iso",
        `${v.iso}/iso/vmflake-installer-study.iso`,
      ];
      expect(alice).toEqual([
        alice[0],
        ...options("alice", 40n << 30n, "1800"),
        "--flake",
        opt(alice, "--flake"),
        "--",
        qemu[0],
        ...aliceArgs!,
      ]);
      expect(bob).toEqual([
        alice[0],
        ...options("bob", 20n << 30n, "600"),
        "--",
        qemu[0],
        ...bobArgs!,
      ]);
    });

    it("the seed's flake: flake.nix, flake.lock and modules/, nothing else of the directory", () => {
      const line = ev<string>(
        "study",
        "host.systemd.services.qemu-guest-alice-install.serviceConfig.ExecStart",
      );
      const source = opt(parseExecLine(line), "--flake")!;
      expect(source).toBe(ev<string>("study", `"\${host.vmflake.installer.flake}"`));
      expect(filesUnder(source)).toEqual([
        "flake.lock",
        "flake.nix",
        "modules/installer/lab.nix",
        "modules/installer/net.nix",
        "modules/installer/study.nix",
        "modules/lab.nix",
        "modules/lab/carol.nix",
        "modules/lab/dave.nix",
        "modules/net.nix",
        "modules/net/erin.nix",
        "modules/study.nix",
        "modules/study/alice.nix",
        "modules/study/bob.nix",
        // The runtime's files, whichever they are; not topology.svg nor anything else.
        ...RUNTIME_FILES.map((f) => `${RUNTIME_OUTPUT_DIR}/${f}`).sort(),
      ]);
      for (const f of ["flake.nix", "modules/vmflake/default.nix", "modules/study.nix"]) {
        expect(readFileSync(join(source, f), "utf8"), f).toBe(readFileSync(join(out, f), "utf8"));
      }
    });

    it("the install unit's program is the host install script (built, shellcheck-clean)", () => {
      const line = ev<string>(
        "study",
        "host.systemd.services.qemu-guest-bob-install.serviceConfig.ExecStart",
      );
      const program = parseExecLine(line)[0]!;
      expect(readFileSync(program, "utf8").endsWith(runtimeScript("install-guest"))).toBe(true);
      execFileSync("shellcheck", [program]);
    });

    it("host-level offlineInstall applies to guests that do not say otherwise", () => {
      const v = ev<Record<string, string>>(
        "lab",
        `{
        carol = host.systemd.services.qemu-guest-carol-install.serviceConfig.ExecStart;
        dave = host.systemd.services.qemu-guest-dave-install.serviceConfig.ExecStart;
        offline = builtins.mapAttrs (n: g: g.install.offline) host.vmflake.guests;
      }`,
      );
      expect(parseExecLine(v.carol!)).not.toContain("--flake");
      expect(parseExecLine(v.dave!)).toContain("--flake");
      expect(v.offline).toEqual({ carol: true, dave: false });
    });

    it("guest systems: disk by serial, root by label with growPartition, ssh keys, serial console", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `let c = self.nixosConfigurations.alice.config; in {
        grub = c.boot.loader.grub.device;
        root = c.fileSystems."/";
        inherit (c.boot) growPartition kernelParams;
        keys = c.users.users.root.openssh.authorizedKeys.keys;
        ssh = c.services.openssh.enable;
        password = c.services.openssh.settings.PasswordAuthentication;
      }`,
      );
      expect(v).toEqual({
        grub: "/dev/disk/by-id/virtio-vmflake-root",
        root: { device: "/dev/disk/by-label/nixos", fsType: "ext4", autoResize: true },
        growPartition: true,
        kernelParams: ["console=ttyS0"],
        keys: [KEY],
        ssh: true,
        password: false,
      });
    });
  },
);
