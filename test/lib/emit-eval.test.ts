/**
 * The emitted flake evaluated by real Nix against the stand-in nixpkgs (test/nix): every file
 * parses, and the values that matter evaluate to what hosts.ts says. The host's units are read as
 * systemd reads them: each Exec line back to its argument vector (docs/design.md §6.2).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { deriveMac } from "../../lib/mac.ts";
import { parseExecLine } from "../support/exec-line.ts";
import {
  build as buildDrv,
  evalJson,
  flakeOutputs,
  nixPath,
  STAND_IN_NIXPKGS,
} from "../support/nix.ts";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { guestQemuArgs, qemuGuest } from "../support/qemu-args.ts";
import { type RuntimeScriptName, runtimeScript } from "../support/runtime-files.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith, nixEnv } from "../support/tools.ts";

const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));
const dsl = JSON.stringify(join(REPO_ROOT, "dsl", "index.ts"));
const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";
const HOSTILE = "it's ${not} ''interpolated'' \\ \"quoted\" $${x}\nsecond line\t";

/** The program of a runtime script as writeShellApplication builds it (`vmflake-<name>`). */
const program = (name: string) =>
  new RegExp(`^/nix/store/[a-z0-9]{32}-vmflake-${name}/bin/vmflake-${name}$`);
/** The stand-in's qemu_kvm (TCG behind the name; docs/design.md §7.2). */
const QEMU = /^\/nix\/store\/[a-z0-9]{32}-qemu-kvm-stand-in\/bin\/qemu-kvm$/;

/** The systemd sandbox of every guest's QEMU and of its first install (the runtime's). */
const SANDBOX = {
  DevicePolicy: "closed",
  DeviceAllow: ["/dev/kvm rw", "/dev/net/tun rw", "/dev/vhost-net rw"],
  NoNewPrivileges: true,
  ProtectSystem: "strict",
  ProtectHome: true,
  PrivateTmp: true,
  ProtectKernelTunables: true,
  ProtectKernelModules: true,
  ProtectKernelLogs: true,
  ProtectControlGroups: true,
  ProtectClock: true,
  ProtectHostname: true,
  RestrictSUIDSGID: true,
  RestrictRealtime: true,
  RestrictNamespaces: true,
  LockPersonality: true,
  RestrictAddressFamilies: ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"],
  CapabilityBoundingSet: "",
  UMask: "0027",
};
/** A Nix list of the sandbox's setting names, to pick them out of a serviceConfig. */
const SANDBOX_KEYS = `[ ${Object.keys(SANDBOX)
  .map((k) => JSON.stringify(k))
  .join(" ")} ]`;

/** A tap's MAC: the guest's with first byte fe, so the bridge keeps the NIC's (lowest) MAC. */
const tapMac = (guestMac: string) => `fe${guestMac.slice(2)}`;

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
      # A host module with more modules of the caller's.
      hostWith = name: extra: (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.\${name} ] ++ extra; }).config;
      guest = name: o.nixosConfigurations.\${name}.config;
    in ${body}`);

    /** The guests' QEMU as the runtime derives it from their options (paths under stateDir). */
    const guestOf = (name: string, over: Partial<Parameters<typeof qemuGuest>[0]>) =>
      qemuGuest({
        name,
        image: `/var/lib/qemu-guests/${name}/disk.qcow2`,
        qmpSocket: `/run/qemu-guests/${name}/qmp.sock`,
        consoleSocket: `/run/qemu-guests/${name}/console.sock`,
        mac: deriveMac("study", name),
        ...over,
      });
    const alice = guestOf("alice", {
      memoryMiB: 1024,
      cpus: 1,
      tap: "tap0",
      vnc: { display: 1, address: "127.0.0.1" },
    });
    const bob = guestOf("bob", { memoryMiB: 2048, cpus: 2, tap: "vm-bob", vnc: null });

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
        "modules/vmflake/confined.nix",
        "modules/vmflake/default.nix",
        "modules/vmflake/disks.nix",
        "modules/vmflake/firmware.nix",
        "modules/vmflake/guest-disks.nix",
        "modules/vmflake/installer.nix",
        "modules/vmflake/networks.nix",
        "modules/vmflake/passthrough.nix",
        "modules/vmflake/qemu.nix",
        "modules/vmflake/shares.nix",
        "modules/vmflake/tpm.nix",
        "modules/vmflake/vms.nix",
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

    it("host module: users, tap units, bridge ports and the units of each guest", () => {
      const v = evalIn<Record<string, unknown>>(`let c = host "study"; in {
      services = builtins.attrNames c.systemd.services;
      ports = c.networking.bridges.vbridge0.interfaces;
      interfaces = builtins.attrNames c.networking.interfaces;
      nicDhcp = c.networking.interfaces.enp0s31f6.useDHCP;
      bridgeDhcp = c.networking.interfaces.vbridge0.useDHCP;
      users = builtins.mapAttrs (n: u: [ u.group u.isSystemUser u.extraGroups ]) c.users.users;
      groups = builtins.attrNames c.users.groups;
      modules = c.boot.kernelModules;
      sysctl = c.boot.kernel.sysctl;
      taps = builtins.mapAttrs (n: s: {
        inherit (s) wantedBy wants after restartIfChanged;
        inherit (s.serviceConfig) Type RemainAfterExit ExecStart ExecStop;
        before = s.before or [ ];
        requires = s.requires or [ ];
        bindsTo = s.bindsTo or [ ];
        partOf = s.partOf or [ ];
      }) { inherit (c.systemd.services) vmflake-tap-tap0 vmflake-tap-vm-bob; };
      bridgeUnit = c.systemd.services.vbridge0-netdev;
      alice = let s = c.systemd.services.qemu-guest-alice; in {
        inherit (s) wantedBy requires after restartIfChanged startLimitIntervalSec startLimitBurst;
        script = s.script or null;
        partOf = s.partOf or [ ];
        bindsTo = s.bindsTo or [ ];
        inherit (s.serviceConfig) Type User Group StateDirectory StateDirectoryMode RuntimeDirectory
          RuntimeDirectoryMode TimeoutStopSec Restart RestartSec ExecStart ExecStop ExecStartPre;
        sandbox = builtins.intersectAttrs (builtins.listToAttrs (map (k: { name = k; value = null; }) ${SANDBOX_KEYS})) s.serviceConfig;
      };
      bob = let s = c.systemd.services.qemu-guest-bob; in {
        wantedBy = s.wantedBy or [ ];
        inherit (s) restartIfChanged;
        inherit (s.serviceConfig) TimeoutStopSec ExecStart ExecStop ExecStartPre;
      };
    }`);
      expect(v.services).toEqual([
        "qemu-guest-alice",
        "qemu-guest-alice-install",
        "qemu-guest-bob",
        "qemu-guest-bob-install",
        // The bridge's own unit (NixOS's scripted backend's), to which the runtime adds one line.
        "vbridge0-netdev",
        "vmflake-tap-tap0",
        "vmflake-tap-vm-bob",
      ]);
      // Only the NIC: a listed tap would bind the scripted backend's bridge unit to that tap's
      // device, so one missing tap would take the bridge and the host's address down.
      expect(v.ports).toEqual(["enp0s31f6"]);
      // Taps are the runtime's own units now, not interfaces of NixOS's networking.
      expect(v.interfaces).toEqual(["enp0s31f6", "vbridge0"]);
      expect(v.nicDhcp).toBe(false);
      expect(v.bridgeDhcp).toBe(true);
      expect(v.users).toEqual({
        "vm-alice": ["vm-alice", true, ["kvm"]],
        "vm-bob": ["vm-bob", true, ["kvm"]],
      });
      expect(v.groups).toEqual(["vm-alice", "vm-bob"]);
      expect(v.modules).toEqual(["tun", "vhost_net"]);
      expect(v.sysctl).toEqual({
        "net.bridge.bridge-nf-call-arptables": 0,
        "net.bridge.bridge-nf-call-ip6tables": 0,
        "net.bridge.bridge-nf-call-iptables": 0,
      });

      // Each tap: a oneshot that stays up, never restarted by a rebuild, that makes itself a port
      // of the bridge: so it wants the bridge's device and comes after it and after the bridge's
      // unit, bound to neither (the bridge going away must not stop the tap, nor a failing tap
      // the bridge).
      const taps = v.taps as Record<string, Record<string, unknown>>;
      // Bob has two CPUs, so a queue per CPU: his tap is multi-queue.
      for (const [unit, tap, user, mac, queues] of [
        ["vmflake-tap-tap0", "tap0", "vm-alice", alice.mac, []],
        ["vmflake-tap-vm-bob", "vm-bob", "vm-bob", bob.mac, ["multi-queue"]],
      ] as const) {
        const t = taps[unit]!;
        expect({ ...t, ExecStart: undefined, ExecStop: undefined }, unit).toEqual({
          wantedBy: ["multi-user.target"],
          wants: ["sys-subsystem-net-devices-vbridge0.device"],
          after: [
            "network-pre.target",
            "sys-subsystem-net-devices-vbridge0.device",
            "vbridge0-netdev.service",
          ],
          before: [],
          requires: [],
          bindsTo: [],
          partOf: [],
          restartIfChanged: false,
          Type: "oneshot",
          RemainAfterExit: true,
          ExecStart: undefined,
          ExecStop: undefined,
        });
        const start = parseExecLine(t.ExecStart as string);
        expect(start[0]).toMatch(program("tap"));
        expect(start.slice(1)).toEqual(["up", tap, user, tapMac(mac), "vbridge0", ...queues]);
        expect(parseExecLine(t.ExecStop as string)).toEqual([start[0], "down", tap]);
      }

      // The bridge's unit (scripted backend: useNetworkd is unset here) makes the bridge anew,
      // with the NIC as its only port, whenever it starts; its ExecStartPost then makes every
      // guest's tap that exists a port again, with the same tap program the tap units run.
      // The runtime sets nothing else of that unit: NixOS defines the rest.
      const bridgeUnit = v.bridgeUnit as { serviceConfig: Record<string, unknown> };
      expect(Object.keys(bridgeUnit)).toEqual(["serviceConfig"]);
      expect(Object.keys(bridgeUnit.serviceConfig)).toEqual(["ExecStartPost"]);
      const tapProgram = parseExecLine(taps["vmflake-tap-tap0"]!.ExecStart as string)[0];
      expect(parseExecLine(bridgeUnit.serviceConfig.ExecStartPost as string)).toEqual([
        tapProgram,
        "attach",
        "vbridge0",
        "tap0",
        "vm-bob",
      ]);

      const a = v.alice as Record<string, unknown>;
      expect(a.wantedBy).toEqual(["multi-user.target"]);
      // The tap's unit and the first install: neither is restarted by a rebuild, so requiring
      // them never takes the guest down; nothing else is bound (docs/qemu-and-systemd.md §2.4).
      expect(a.requires).toEqual(["vmflake-tap-tap0.service", "qemu-guest-alice-install.service"]);
      expect(a.after).toEqual([
        "network.target",
        "vmflake-tap-tap0.service",
        "vbridge0-netdev.service",
        "qemu-guest-alice-install.service",
      ]);
      expect(a.partOf).toEqual([]);
      expect(a.bindsTo).toEqual([]);
      expect(a.restartIfChanged).toBe(false);
      expect([a.startLimitIntervalSec, a.startLimitBurst]).toEqual([300, 3]);
      // QEMU is the main process: no script, ExecStart runs it (docs/qemu-and-systemd.md §2.1).
      expect(a.script).toBeNull();
      expect(a.Type).toBe("exec");
      expect(a.User).toBe("vm-alice");
      expect(a.Group).toBe("vm-alice");
      expect([a.StateDirectory, a.StateDirectoryMode]).toEqual(["qemu-guests/alice", "0750"]);
      expect([a.RuntimeDirectory, a.RuntimeDirectoryMode]).toEqual(["qemu-guests/alice", "0750"]);
      expect(a.TimeoutStopSec).toBe(150);
      expect(a.Restart).toBe("on-failure");
      expect(a.RestartSec).toBe(10);
      expect(a.sandbox).toEqual(SANDBOX);
      const [aliceArgs, bobArgs] = guestQemuArgs([alice, bob]);
      const start = parseExecLine(a.ExecStart as string);
      expect(start[0]).toMatch(QEMU);
      expect(start.slice(1)).toEqual(aliceArgs);
      const stop = parseExecLine(a.ExecStop as string);
      expect(stop[0]).toMatch(program("stop-guest"));
      expect(stop.slice(1)).toEqual(["/run/qemu-guests/alice/qmp.sock", "120"]);
      const pre = parseExecLine(a.ExecStartPre as string);
      expect(pre[0]).toMatch(program("prepare-disk"));
      expect(pre.slice(1)).toEqual(["/var/lib/qemu-guests/alice/disk.qcow2", "42949672960"]);

      const b = v.bob as Record<string, unknown>;
      expect(b.wantedBy).toEqual([]);
      expect(b.restartIfChanged).toBe(false);
      expect(b.TimeoutStopSec).toBe(60);
      expect(parseExecLine(b.ExecStart as string)).toEqual([start[0], ...bobArgs!]);
      expect(parseExecLine(b.ExecStop as string)).toEqual([
        stop[0],
        "/run/qemu-guests/bob/qmp.sock",
        "30",
      ]);
      expect(parseExecLine(b.ExecStartPre as string)).toEqual([
        pre[0],
        "/var/lib/qemu-guests/bob/disk.qcow2",
        String(20n << 30n),
      ]);
    });

    it("static host address and bridge MAC land on the bridge", () => {
      const v = evalIn<Record<string, unknown>>(`let c = host "lab"; in {
      addresses = c.networking.interfaces.br0.ipv4.addresses;
      inherit (c.networking.interfaces.br0) macAddress;
      bridgeDhcp = c.networking.interfaces.br0.useDHCP or null;
      nicDhcp = c.networking.interfaces.eno1.useDHCP;
      gw = c.networking.defaultGateway;
      inherit (c.networking) nameservers;
      ports = c.networking.bridges.br0.interfaces;
      attach = c.systemd.services.br0-netdev.serviceConfig.ExecStartPost;
      tapUp = c.systemd.services.vmflake-tap-vm-carol.serviceConfig.ExecStart;
    }`);
      const attach = parseExecLine(v.attach as string);
      const tapUp = parseExecLine(v.tapUp as string);
      expect(attach).toEqual([tapUp[0], "attach", "br0", "vm-carol"]);
      expect(tapUp.slice(1)).toEqual([
        "up",
        "vm-carol",
        "vm-carol",
        tapMac(deriveMac("lab", "carol")),
        "br0",
      ]);
      delete v.attach;
      delete v.tapUp;
      expect(v).toEqual({
        addresses: [{ address: "10.0.0.2", prefixLength: 24 }],
        macAddress: "02:00:00:00:00:01",
        bridgeDhcp: null,
        nicDhcp: false,
        gw: { address: "10.0.0.1", interface: "br0" },
        nameservers: [],
        // carol's tap is made a port by its own unit, not listed.
        ports: ["eno1"],
      });
    });

    it("a host without guests adds nothing to the bridge's unit; with networkd, no guest does", () => {
      const v = evalIn<Record<string, unknown>>(`let
      bare = hostWith "lab" [ { vmflake.guests = nixpkgs.lib.mkForce { }; } ];
      networkd = hostWith "study" [ { networking.useNetworkd = true; } ];
    in {
      bare = {
        services = builtins.attrNames bare.systemd.services;
        ports = bare.networking.bridges.br0.interfaces;
      };
      networkd = {
        services = builtins.attrNames networkd.systemd.services;
        ports = networkd.networking.bridges.vbridge0.interfaces;
        tapWants = networkd.systemd.services.vmflake-tap-tap0.wants;
      };
    }`);
      // No tap to attach, so no ExecStartPost (and so no unit of the runtime's named br0-netdev).
      expect(v.bare).toEqual({ services: [], ports: ["eno1"] });
      // networkd keeps a bridge it made (no unit makes it anew): the taps' units attach them,
      // and no br0-netdev unit is defined, which would otherwise be a unit of its own there.
      expect(v.networkd).toEqual({
        services: [
          "qemu-guest-alice",
          "qemu-guest-alice-install",
          "qemu-guest-bob",
          "qemu-guest-bob-install",
          "vmflake-tap-tap0",
          "vmflake-tap-vm-bob",
        ],
        ports: ["enp0s31f6"],
        tapWants: ["sys-subsystem-net-devices-vbridge0.device"],
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
        hostExec = (host "study").systemd.services.qemu-guest-bob.serviceConfig.ExecStart;
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
      const b = v.bob!;
      // The MAC the host's QEMU gives bob's NIC is the one bob's network matches on.
      const nic = parseExecLine(b.hostExec as string).find((a) => a.startsWith("virtio-net-pci,"));
      const mac = /,mac=(52:54:00:[0-9a-f:]{8})(,mq=on,vectors=6)?$/.exec(nic!)![1];
      expect(mac).toBe(bob.mac);
      expect(b.net).toEqual({
        matchConfig: { MACAddress: mac },
        address: ["192.168.1.20/24"],
        gateway: ["192.168.1.1"],
        dns: ["192.168.1.1"],
      });
      expect(b.motd).toBe(HOSTILE);
      expect(b.ports).toEqual([22, 2222]);
      expect(b.usersMotd).toBe("bob says hi");
    });

    it("checks build (each forces a full evaluation) and the scripts pass shellcheck", () => {
      const drvs = evalIn<Record<string, string>>(
        `builtins.mapAttrs (n: c: c.drvPath) o.checks.x86_64-linux`,
      );
      expect(Object.keys(drvs)).toHaveLength(5);
      // A derivation with the units' Exec lines in its environment depends on every program they
      // name, so building it builds them: the stand-in writeShellApplication runs shellcheck on
      // each script (as nixpkgs' does).
      const deps = buildDrv(`let
      o = ${flakeOutputs(out)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      s = (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.study ]; }).config.systemd.services;
    in nixpkgs.legacyPackages.x86_64-linux.runCommand "unit-commands" {
      lines = builtins.toJSON [
        s.qemu-guest-alice.serviceConfig.ExecStartPre
        s.qemu-guest-alice.serviceConfig.ExecStart
        s.qemu-guest-alice.serviceConfig.ExecStop
        s.vmflake-tap-tap0.serviceConfig.ExecStart
        s.qemu-guest-alice-install.serviceConfig.ExecStart
      ];
      passAsFile = [ "lines" ];
    } "cp \\"$linesPath\\" \\"$out\\""`);
      const lines = JSON.parse(readFileSync(deps, "utf8")) as string[];
      const programs = lines.map((l) => parseExecLine(l)[0]!);
      const scripts: RuntimeScriptName[] = ["prepare-disk", "stop-guest", "tap", "install-guest"];
      expect(programs.filter((p) => !QEMU.test(p))).toEqual(
        scripts.map((name) => expect.stringMatching(program(name))),
      );
      expect(programs[1]).toMatch(QEMU);
      for (const p of programs) expect(existsSync(p), p).toBe(true);
      // Each program is its runtime script behind writeShellApplication's preamble.
      for (const [i, name] of [
        [0, "prepare-disk"],
        [2, "stop-guest"],
        [3, "tap"],
        [4, "install-guest"],
      ] as const) {
        expect(readFileSync(programs[i]!, "utf8").endsWith(runtimeScript(name)), name).toBe(true);
        execFileSync("shellcheck", [programs[i]!]);
      }
      const check = buildDrv(`(${flakeOutputs(out)}).checks.x86_64-linux.host-study`);
      expect(check).toMatch(/host-study-eval$/);
    });
  },
);
