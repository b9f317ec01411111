/**
 * The emitted flake evaluated by real Nix against the stand-in nixpkgs (test/nix): every file
 * parses, and the values that matter evaluate to what hosts.ts says.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, expect, it } from "vitest";
import {
  build as buildDrv,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith, nixEnv } from "../support/tools.ts";

const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
const dsl = JSON.stringify(join(REPO_ROOT, "dsl", "index.ts"));
const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";
const HOSTILE = "it's ${not} ''interpolated'' \\ \"quoted\" $${x}\nsecond line\t";

function nixFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else if (f.endsWith(".nix")) out.push(f);
    }
  };
  walk(dir);
  return out.sort();
}

describeWith(
  ["nix-instantiate", "nix-build", "shellcheck"],
  "emitted flake (stand-in nixpkgs)",
  () => {
    const dir = tempDir();
    const out = join(dir, "flake");
    beforeAll(async () => {
      writeFileSync(
        join(dir, "hosts.ts"),
        `import { defineHosts } from ${lib};
import * as nix from ${dsl};
export default defineHosts({
  hosts: {
    study: {
      lan: { nic: "enp0s31f6", bridge: "vbridge0" },
      sshKeys: [${JSON.stringify(KEY)}],
      stateVersion: "26.05",
      guests: {
        alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" },
        bob: { memory: "2G", disk: "20G", cpus: 2, autostart: false, shutdownTimeout: 30,
          ipv4: { addresses: ["192.168.1.20/24"], gateway: "192.168.1.1", dns: ["192.168.1.1"] },
          config: {
            environment: { etc: { "motd.txt": { text: ${JSON.stringify(HOSTILE)} } } },
            services: { openssh: { ports: [22, 2222] } },
            users: { motd: nix.nix\`\${nix.config.networking.hostName} says hi\` },
          },
        },
      },
    },
    lab: {
      lan: { nic: "eno1", bridge: "br0", address: { addresses: ["10.0.0.2/24"], gateway: "10.0.0.1" }, bridgeMac: "02:00:00:00:00:01" },
      stateVersion: "26.05",
      guests: { carol: { memory: "512M", disk: "4G" } },
    },
  },
});
`,
      );
      const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    });

    const evalIn = <T>(body: string): T =>
      evalJson<T>(`let
      o = ${flakeOutputs(out)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      host = name: (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.\${name} ]; }).config;
      guest = name: o.nixosConfigurations.\${name}.config;
    in ${body}`);

    it("every emitted file parses", () => {
      const files = nixFiles(out);
      expect(files.map((f) => relative(out, f))).toEqual([
        "flake.nix",
        "modules/installer/lab.nix",
        "modules/installer/study.nix",
        "modules/lab.nix",
        "modules/lab/carol.nix",
        "modules/study.nix",
        "modules/study/alice.nix",
        "modules/study/bob.nix",
      ]);
      for (const f of files) {
        execFileSync("nix-instantiate", ["--parse", f], { env: nixEnv, stdio: "pipe" });
      }
    });

    it("flake outputs: modules per host, a system per guest, checks, formatter", () => {
      const v = evalIn<Record<string, string[]>>(`{
      modules = builtins.attrNames o.nixosModules;
      configurations = builtins.attrNames o.nixosConfigurations;
      checks = builtins.attrNames o.checks.x86_64-linux;
      formatter = [ o.formatter.x86_64-linux.name ];
    }`);
      expect(v).toEqual({
        modules: ["lab", "study"],
        configurations: ["alice", "bob", "carol"],
        checks: ["guest-alice", "guest-bob", "guest-carol", "host-lab", "host-study"],
        formatter: ["nixfmt-stand-in"],
      });
    });

    it("host module: users, taps, bridge ports and one service per guest", () => {
      const v = evalIn<Record<string, unknown>>(`let c = host "study"; in {
      services = builtins.attrNames c.systemd.services;
      ports = c.networking.bridges.vbridge0.interfaces;
      taps = builtins.mapAttrs (n: i: i.virtualOwner or null) (builtins.removeAttrs c.networking.interfaces [ "enp0s31f6" "vbridge0" ]);
      nicDhcp = c.networking.interfaces.enp0s31f6.useDHCP;
      bridgeDhcp = c.networking.interfaces.vbridge0.useDHCP;
      users = builtins.mapAttrs (n: u: [ u.group u.isSystemUser u.extraGroups ]) c.users.users;
      modules = c.boot.kernelModules;
      alice = { inherit (c.systemd.services.qemu-guest-alice) wantedBy bindsTo partOf restartIfChanged; inherit (c.systemd.services.qemu-guest-alice.serviceConfig) User TimeoutStopSec Restart ExecStop ExecStartPre; };
      bobWanted = c.systemd.services.qemu-guest-bob ? wantedBy;
      bobStop = c.systemd.services.qemu-guest-bob.serviceConfig.TimeoutStopSec;
    }`);
      expect(v.services).toEqual([
        "qemu-guest-alice",
        "qemu-guest-alice-install",
        "qemu-guest-bob",
        "qemu-guest-bob-install",
      ]);
      expect(v.ports).toEqual(["enp0s31f6", "tap0", "vm-bob"]);
      expect(v.taps).toEqual({ tap0: "vm-alice", "vm-bob": "vm-bob" });
      expect(v.nicDhcp).toBe(false);
      expect(v.bridgeDhcp).toBe(true);
      expect(v.users).toEqual({
        "vm-alice": ["vm-alice", true, ["kvm"]],
        "vm-bob": ["vm-bob", true, ["kvm"]],
      });
      expect(v.modules).toEqual(["tun", "vhost_net"]);
      const alice = v.alice as Record<string, unknown>;
      expect(alice.wantedBy).toEqual(["multi-user.target"]);
      expect(alice.bindsTo).toEqual(["sys-subsystem-net-devices-tap0.device"]);
      expect(alice.partOf).toEqual(["tap0-netdev.service"]);
      expect(alice.restartIfChanged).toBe(false);
      expect(alice.User).toBe("vm-alice");
      expect(alice.TimeoutStopSec).toBe(150);
      expect(alice.Restart).toBe("on-failure");
      expect(alice.ExecStop).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-vmflake-stop-guest\/bin\/vmflake-stop-guest \/run\/qemu-guests\/alice\/qmp\.sock 120$/,
      );
      expect(alice.ExecStartPre).toMatch(
        /vmflake-prepare-disk \/var\/lib\/qemu-guests\/alice\/disk\.qcow2 42949672960$/,
      );
      expect(v.bobWanted).toBe(false);
      expect(v.bobStop).toBe(60);
    });

    it("static host address and bridge MAC land on the bridge", () => {
      const v = evalIn<Record<string, unknown>>(`let c = host "lab"; in {
      inherit (c.networking.interfaces.br0) ipv4 macAddress;
      gw = c.networking.defaultGateway;
      ports = c.networking.bridges.br0.interfaces;
    }`);
      expect(v).toEqual({
        ipv4: { addresses: [{ address: "10.0.0.2", prefixLength: 24 }] },
        macAddress: "02:00:00:00:00:01",
        gw: { address: "10.0.0.1", interface: "br0" },
        ports: ["eno1", "vm-carol"],
      });
    });

    it("guest systems: hostname, disk by serial, keys, DHCP or static by MAC, own config merged", () => {
      const v = evalIn<Record<string, Record<string, unknown>>>(`{
      alice = let c = guest "alice"; in {
        inherit (c.networking) hostName useDHCP;
        grub = c.boot.loader.grub.device;
        keys = c.users.users.root.openssh.authorizedKeys.keys;
        password = c.services.openssh.settings.PasswordAuthentication;
        root = c.fileSystems."/";
        initrd = c.boot.initrd.availableKernelModules;
        inherit (c.system) stateVersion;
      };
      bob = let c = guest "bob"; in {
        net = c.systemd.network.networks."10-lan";
        motd = c.environment.etc."motd.txt".text;
        ports = c.services.openssh.ports;
        usersMotd = c.users.motd;
        mac = (host "study").systemd.services.qemu-guest-bob.script;
      };
    }`);
      expect(v.alice).toEqual({
        hostName: "alice",
        useDHCP: true,
        grub: "/dev/disk/by-id/virtio-vmflake-root",
        keys: [KEY],
        password: false,
        root: { device: "/dev/disk/by-label/nixos", fsType: "ext4", autoResize: true },
        initrd: ["virtio_net", "virtio_pci", "virtio_blk"],
        stateVersion: "26.05",
      });
      const bob = v.bob!;
      const mac = /mac=(52:54:00:[0-9a-f:]{8})/.exec(bob.mac as string)![1];
      expect(bob.net).toEqual({
        matchConfig: { MACAddress: mac },
        address: ["192.168.1.20/24"],
        gateway: ["192.168.1.1"],
        dns: ["192.168.1.1"],
      });
      expect(bob.motd).toBe(HOSTILE);
      expect(bob.ports).toEqual([22, 2222]);
      expect(bob.usersMotd).toBe("bob says hi");
    });

    it("checks build (each forces a full evaluation) and the scripts pass shellcheck", () => {
      const drvs = evalIn<Record<string, string>>(
        `builtins.mapAttrs (n: c: c.drvPath) o.checks.x86_64-linux`,
      );
      expect(Object.keys(drvs)).toHaveLength(5);
      // Building the host check builds nothing heavy, but building the scripts runs shellcheck.
      // A derivation whose command mentions the unit's commands depends on their scripts, so
      // building it builds them: the stand-in writeShellApplication runs shellcheck on each.
      const deps = buildDrv(`let
      o = ${flakeOutputs(out)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      s = (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.study ]; }).config.systemd.services.qemu-guest-alice;
    in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-commands" { } ''
      echo "\${s.serviceConfig.ExecStop}" "\${s.serviceConfig.ExecStartPre}" > $out
    ''`);
      const [stop, prepare] = readFileSync(deps, "utf8")
        .trim()
        .split(" ")
        .filter((w) => w.startsWith("/nix/store/"));
      expect(stop).toMatch(/vmflake-stop-guest$/);
      expect(existsSync(stop!)).toBe(true);
      expect(existsSync(prepare!)).toBe(true);
      const check = buildDrv(`(${flakeOutputs(out)}).checks.x86_64-linux.host-study`);
      expect(check).toMatch(/host-study-eval$/);
    });
  },
);
