/**
 * The emitted installer and install units evaluated by real Nix against the stand-in
 * nixpkgs: the values that matter are what hosts.ts says (install service, seed flake source,
 * offline closures in the ISO's store, boot settings, keys, the unit ordering).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { installGuestScript } from "../../lib/runtime/install-guest-script.ts";
import { installerScript } from "../../lib/runtime/installer-script.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";
import { emitFlake, evalFlake, installUnits } from "./support/install-flake.ts";

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

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
      installUnits(out, "study", ["alice", "bob"]);
      installUnits(out, "lab", ["carol", "dave"]);
      installUnits(out, "net", ["erin"]);
    });

    it("emits one installer module per host", () => {
      expect(filesUnder(join(out, "modules", "installer"))).toEqual([
        "lab.nix",
        "net.nix",
        "study.nix",
      ]);
    });

    it("packages.<system>.installer-<host> is the ISO of that module's system", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `{
        names = builtins.attrNames self.packages.x86_64-linux;
        same = self.packages.x86_64-linux.installer-study.drvPath == installerSystem.config.system.build.isoImage.drvPath;
        arg = (builtins.functionArgs (import (dir + "/modules/study.nix"))) ? vmflakeInstaller;
        given = host._module.args.vmflakeInstaller.drvPath == self.packages.x86_64-linux.installer-study.drvPath;
      }`,
      );
      expect(v).toEqual({
        names: ["installer-lab", "installer-net", "installer-study"],
        same: true,
        arg: true,
        given: true,
      });
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
      });
      const imports = readFileSync(join(out, "modules/installer/study.nix"), "utf8");
      expect(imports).toContain('(modulesPath + "/installer/cd-dvd/installation-cd-minimal.nix")');
    });

    it("installer: the install service, its program (the script, shellcheck-clean) and its tools", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `let s = installer.systemd.services.vmflake-install; in {
        inherit (s) wantedBy unitConfig environment;
        inherit (s.serviceConfig) Type ExecStart StandardOutput StandardError;
      }`,
      );
      expect(v).toEqual({
        wantedBy: ["multi-user.target"],
        unitConfig: { ConditionVirtualization: "vm" },
        environment: { HOME: "/root" },
        Type: "oneshot",
        ExecStart: expect.stringMatching(
          /^\/nix\/store\/[a-z0-9]{32}-vmflake-install\/bin\/vmflake-install --host study --token vmflake-install-opt-in\/study$/,
        ),
        StandardOutput: "journal+console",
        StandardError: "journal+console",
      });
      // Built in beforeAll (the stand-in writeShellApplication ran shellcheck): its text is the script.
      const program = (v.ExecStart as string).split(" ")[0]!;
      expect(readFileSync(program, "utf8").endsWith(installerScript)).toBe(true);
      execFileSync("shellcheck", [program]);
      const path = /^export PATH="([^"]*):\$PATH"$/m.exec(readFileSync(program, "utf8"))![1]!;
      expect(path.split(":").map((p) => p.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""))).toEqual([
        "coreutils/bin",
        "util-linux/bin",
        "e2fsprogs/bin",
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
        listed = builtins.readFile "\${installer.system.build.isoImage}/store-contents";
      }`,
      );
      expect(v.store).toEqual([v.carol]);
      expect(v.etc).toEqual({ "vmflake/offline/carol": v.carol });
      expect(v.listed).toBe(`${v.carol as string}\n`);
      // A host with only network installs: the ISO carries no guest and needs no guest systems.
      expect(
        ev(
          "net",
          `{
            store = installer.isoImage.storeContents or [ ];
            etc = installer.environment.etc or { };
            arg = (builtins.functionArgs (import (dir + "/modules/installer/net.nix"))) ? guestSystems;
          }`,
        ),
      ).toEqual({ store: [], etc: {}, arg: false });
      const flake = readFileSync(join(out, "flake.nix"), "utf8");
      expect(flake).toMatch(
        /installer-net =\s+\(nixpkgs\.lib\.nixosSystem \{ modules = \[ \.\/modules\/installer\/net\.nix \]; \}\)/,
      );
      expect(flake).toMatch(
        /installer-lab =\s+\(nixpkgs\.lib\.nixosSystem \{\s+modules = \[\s+\.\/modules\/installer\/lab\.nix\s+\{ _module\.args\.guestSystems = self\.nixosConfigurations; \}/,
      );
    });

    it("guest unit requires and is ordered after its install unit, which runs only without an image", () => {
      const v = ev<Record<string, unknown>>(
        "study",
        `let g = host.systemd.services.qemu-guest-alice; i = host.systemd.services.qemu-guest-alice-install; in {
        requires = g.requires;
        after = g.after;
        bindsTo = g.bindsTo;
        condition = i.unitConfig.ConditionPathExists;
        inherit (i) restartIfChanged;
        installBindsTo = i.bindsTo;
        inherit (i.serviceConfig) Type User Group StateDirectory StateDirectoryMode TimeoutStartSec NoNewPrivileges ProtectSystem DevicePolicy UMask;
        wanted = i ? wantedBy;
        bobInstall = let b = host.systemd.services.qemu-guest-bob-install; in { bindsTo = b.bindsTo or null; timeout = b.serviceConfig.TimeoutStartSec; };
      }`,
      );
      expect(v).toEqual({
        requires: ["qemu-guest-alice-install.service"],
        after: [
          "network.target",
          "sys-subsystem-net-devices-tap0.device",
          "tap0-netdev.service",
          "vbridge0-netdev.service",
          "qemu-guest-alice-install.service",
        ],
        bindsTo: ["sys-subsystem-net-devices-tap0.device"],
        condition: "!/var/lib/qemu-guests/alice/disk.qcow2",
        restartIfChanged: false,
        installBindsTo: ["sys-subsystem-net-devices-tap0.device"],
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
        wanted: false,
        bobInstall: { bindsTo: null, timeout: 600 + 130 },
      });
    });

    it("install unit script: the install program, the ISO, the flake for network installs, QEMU", () => {
      const v = ev<Record<string, string>>(
        "study",
        `{
        alice = host.systemd.services.qemu-guest-alice-install.script;
        bob = host.systemd.services.qemu-guest-bob-install.script;
        iso = "\${self.packages.x86_64-linux.installer-study}";
      }`,
      );
      const words = (s: string) => s.replace(/\\\n/g, " ").trim().split(/\s+/);
      const alice = words(v.alice!);
      const opt = (w: string[], flag: string) => w[w.indexOf(flag) + 1];
      expect(alice[0]).toBe("exec");
      expect(alice[1]).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-vmflake-install-guest\/bin\/vmflake-install-guest$/,
      );
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
      expect(qemu[0]).toMatch(/-qemu-kvm-stand-in\/bin\/qemu-kvm$/);
      expect(opt(qemu, "-m")).toBe("3072M"); // at least 3 GiB to evaluate NixOS
      expect(qemu).toContain("-no-reboot");
      expect(opt(qemu, "-boot")).toBe("once=d");
      expect(opt(qemu, "-display")).toBe("vnc=127.0.0.1:1"); // alice's VNC; she is not running
      expect(opt(qemu, "-netdev")).toBe("tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on");
      expect(qemu.join(" ")).toContain(
        "driver=vvfat,node-name=seed,dir=/var/lib/qemu-guests/alice/install.tmp/seed,fat-type=16,label=VMFLAKESEED,read-only=on",
      );
      expect(qemu.join(" ")).toContain("virtio-blk-pci,drive=disk0,serial=vmflake-root");
      expect(qemu.join(" ")).not.toContain("bootindex");

      const bob = words(v.bob!);
      expect(bob).not.toContain("--flake");
      expect(opt(bob, "--timeout")).toBe("600");
      const bobQemu = bob.slice(bob.indexOf("--") + 1);
      expect(opt(bobQemu, "-m")).toBe("4096M");
      expect(opt(bobQemu, "-smp")).toBe("2");
      expect(opt(bobQemu, "-display")).toBe("none");
      expect(bobQemu).not.toContain("-netdev");
    });

    it("the seed's flake: flake.nix, flake.lock and modules/, nothing else of the directory", () => {
      const source = ev<string>(
        "study",
        `builtins.elemAt (builtins.match ".*--flake ([^ ]+) .*" (builtins.replaceStrings [ "\\n" ] [ " " ] host.systemd.services.qemu-guest-alice-install.script)) 0`,
      );
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
      ]);
      expect(readFileSync(join(source, "flake.nix"), "utf8")).toBe(
        readFileSync(join(out, "flake.nix"), "utf8"),
      );
    });

    it("the install unit's program is the host install script (built, shellcheck-clean)", () => {
      const script = ev<string>("study", "host.systemd.services.qemu-guest-bob-install.script");
      const program = script.split(/\s+/)[1]!;
      expect(readFileSync(program, "utf8").endsWith(installGuestScript)).toBe(true);
      execFileSync("shellcheck", [program]);
    });

    it("host-level offlineInstall applies to guests that do not say otherwise", () => {
      const v = ev<Record<string, boolean>>(
        "lab",
        `{
        carol = builtins.match ".*--flake.*" host.systemd.services.qemu-guest-carol-install.script == null;
        dave = builtins.match ".*--flake.*" host.systemd.services.qemu-guest-dave-install.script == null;
      }`,
      );
      expect(v).toEqual({ carol: true, dave: false });
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
