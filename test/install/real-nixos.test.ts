/**
 * First install, real NixOS tier (runs only with NIXPKGS=/path/to/nixpkgs, ideally a store path):
 * each guest's system, the installer ISO and the host with its install units evaluate with real
 * NixOS; the rendered install unit and an offline guest's closure in the ISO's store are checked;
 * and host evaluation is measured for 1, 5 and 20 network-install guests (target: 20 guests cost
 * at most 1.2 times what 1 costs, because the installer ISO is generic; cost is the evaluator's
 * own count of function calls and thunks, and the times are reported), with one offline guest
 * for comparison.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/temp.ts";
import { toolsPresent } from "../support/tools.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { emitFlake, optionValue } from "./support/install-flake.ts";
import { fullModuleListNixpkgs, removeBuiltFlakes } from "../nixos/support.ts";
import { flakeCheck, lockFlake, nixEvalJson, writeHostFlake } from "./support/real-nixpkgs.ts";

const NIXPKGS = process.env.NIXPKGS;
const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

if (!NIXPKGS) console.warn("SKIPPED (installer, real NixOS tier): NIXPKGS is not set");
const ready = NIXPKGS !== undefined && toolsPresent(["nix", "/usr/bin/time"]);

describe.runIf(ready)(
  ready
    ? "installer with real NixOS (NIXPKGS)"
    : "installer with real NixOS [skipped: NIXPKGS is not set]",
  () => {
    const dir = tempDir("vmflake-real-");
    let nixpkgs = "";
    let vms = "";
    const hostFlake = join(dir, "host");

    afterAll(removeBuiltFlakes);

    beforeAll(async () => {
      // NIXPKGS as a flake whose nixosSystem adds the modules a slimmed snapshot leaves unlisted.
      nixpkgs = fullModuleListNixpkgs();
      mkdirSync(join(dir, "example"));
      vms = await emitFlake(
        join(dir, "example"),
        `{ hosts: { study: {
          lan: { nic: "enp0s31f6", bridge: "vbridge0" },
          sshKeys: [${JSON.stringify(KEY)}],
          stateVersion: "26.05",
          guests: {
            alice: { memory: "1G", disk: "40G", vnc: 1, tap: "tap0" },
            bob: { memory: "1G", disk: "20G", offlineInstall: true, installTimeout: 900 },
          },
        } } }`,
      );
      writeHostFlake(hostFlake, vms, nixpkgs, "study");
      lockFlake(hostFlake);
    }, 600_000);

    it("each guest's system and the installer ISO evaluate", () => {
      const drv = (expr: string) => nixEvalJson<string>(hostFlake, "vms", `vms: ${expr}.drvPath`);
      expect(drv("vms.nixosConfigurations.alice.config.system.build.toplevel").value).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-nixos-system-alice-[^/]*\.drv$/,
      );
      expect(drv("vms.nixosConfigurations.bob.config.system.build.toplevel").value).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-nixos-system-bob-[^/]*\.drv$/,
      );
      expect(drv("vms.packages.x86_64-linux.installer-study").value).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-vmflake-installer-study\.iso\.drv$/,
      );
    });

    it("the host evaluates, and its install unit renders as intended", () => {
      const host = nixEvalJson<string>(
        hostFlake,
        "nixosConfigurations.host.config.system.build.toplevel.drvPath",
      );
      expect(host.value).toMatch(/-nixos-system-study-[^/]*\.drv$/);
      const r = nixEvalJson<Record<string, string>>(
        hostFlake,
        "nixosConfigurations.host.config",
        `c: let s = c.systemd; in {
          install = s.units."qemu-guest-alice-install.service".text;
          guest = s.units."qemu-guest-alice.service".text;
          bobInstall = s.units."qemu-guest-bob-install.service".text;
          exec = s.services.qemu-guest-alice-install.serviceConfig.ExecStart;
          bobExec = s.services.qemu-guest-bob-install.serviceConfig.ExecStart;
          iso = c.vmflake.installer.iso;
        }`,
      );
      const isoPackage = nixEvalJson<string>(
        hostFlake,
        "vms",
        `vms: "\${vms.packages.x86_64-linux.installer-study}"`,
      ).value;
      const filePath = nixEvalJson<string>(hostFlake, "installer.image.filePath").value;
      const unit = r.value.install!;
      const lines = unit.split("\n");
      for (const line of [
        "ConditionPathExists=!/var/lib/qemu-guests/alice/disk.qcow2",
        // The tap comes from its own unit (there is no networking.interfaces.<tap> any more).
        "Requires=vmflake-tap-tap0.service",
        "After=network.target vmflake-tap-tap0.service vbridge0-netdev.service",
        "Type=oneshot",
        "User=vm-alice",
        "Group=vm-alice",
        "StateDirectory=qemu-guests/alice",
        "StateDirectoryMode=0750",
        "TimeoutStartSec=1930",
        "X-RestartIfChanged=false",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "DevicePolicy=closed",
        "UMask=0027",
      ]) {
        expect(lines, line).toContain(line);
      }
      // The unit runs install-guest itself, with the option's escaped argument list verbatim.
      expect(lines).toContain(`ExecStart=${r.value.exec}`);
      const argv = parseExecLine(r.value.exec!);
      expect(argv[0]).toMatch(
        /^\/nix\/store\/[a-z0-9]{32}-vmflake-install-guest\/bin\/vmflake-install-guest$/,
      );
      expect(unit).not.toMatch(/^WantedBy=/m);
      expect(unit).not.toMatch(/^BindsTo=/m);
      // The guest requires its install and starts after it; no BindsTo= or PartOf= on anything
      // (a skipped condition would stop the guest; a restart of the tap would take it down).
      expect(r.value.guest).toMatch(/^Requires=(.* )?qemu-guest-alice-install\.service( .*)?$/m);
      expect(r.value.guest).toMatch(/^After=.* qemu-guest-alice-install\.service$/m);
      expect(r.value.guest).not.toMatch(/^(BindsTo|PartOf)=/m);
      // The ISO of packages.x86_64-linux.installer-study, at the file nixpkgs' ISO module writes
      // (image.filePath), and the flake for alice only.
      expect(r.value.iso).toBe(`${isoPackage}/iso/vmflake-installer-study.iso`);
      expect(r.value.iso).toBe(`${isoPackage}/${filePath}`);
      expect(optionValue(argv, "--iso")).toBe(r.value.iso);
      expect(optionValue(argv, "--flake")).toMatch(/^\/nix\/store\/[a-z0-9]{32}-vmflake-flake$/);
      expect(optionValue(argv, "--timeout")).toBe("1800");
      const bob = parseExecLine(r.value.bobExec!);
      expect(bob).not.toContain("--flake");
      expect(optionValue(bob, "--timeout")).toBe("900");
      expect(optionValue(bob, "--iso")).toBe(r.value.iso);
      // bob's install is offline: no tap, no network to wait for, no NIC in its installer VM.
      expect(r.value.bobInstall).not.toMatch(/^(BindsTo|Requires)=/m);
      expect(r.value.bobInstall).not.toMatch(/^After=.*vmflake-tap/m);
      expect(bob.slice(bob.indexOf("--"))).not.toContain("-netdev");
    });

    it("the installer: its service, and the offline guest's closure in the ISO's store", () => {
      const r = nixEvalJson<Record<string, unknown>>(
        hostFlake,
        "installer",
        `i: {
          store = map (p: "\${p}") i.isoImage.storeContents;
          link = "\${i.environment.etc."vmflake/offline/bob".source}";
          baseName = i.image.baseName;
          fileName = i.image.fileName;
          channel = i.system.installer.channel.enable;
          timeout = i.boot.loader.timeout;
          kernelParams = i.boot.kernelParams;
          exec = i.systemd.services.vmflake-install.serviceConfig.ExecStart;
          condition = i.systemd.services.vmflake-install.unitConfig.ConditionVirtualization;
          unit = i.systemd.units."vmflake-install.service".text;
          isoDrv = i.system.build.isoImage.drvPath;
        }`,
      );
      const value = (expr: string) => nixEvalJson<string>(hostFlake, "vms", `vms: ${expr}`).value;
      const other = {
        bob: value('"\${vms.nixosConfigurations.bob.config.system.build.toplevel}"'),
        alice: value('"\${vms.nixosConfigurations.alice.config.system.build.toplevel}"'),
        isoDrv: value("vms.packages.x86_64-linux.installer-study.drvPath"),
      };
      const v = r.value;
      expect(v.store).toContain(other.bob);
      expect(v.store).not.toContain(other.alice);
      expect(v.link).toBe(other.bob);
      expect(v.isoDrv).toBe(other.isoDrv);
      expect(v.baseName).toBe("vmflake-installer-study");
      expect(v.fileName).toBe("vmflake-installer-study.iso");
      expect(v.channel).toBe(false);
      expect(v.timeout).toBe(1);
      expect(v.kernelParams).toEqual(
        expect.arrayContaining(["console=tty0", "console=ttyS0,115200n8"]),
      );
      const exec = parseExecLine(v.exec as string);
      expect(exec[0]).toMatch(/^\/nix\/store\/[a-z0-9]{32}-vmflake-install\/bin\/vmflake-install$/);
      expect(exec.slice(1)).toEqual(["--host", "study", "--token", "vmflake-install-opt-in/study"]);
      expect(v.condition).toBe("vm");
      expect(v.unit).toMatch(/^WantedBy=multi-user\.target$/m);
      expect(v.unit).toMatch(/^Environment="HOME=\/root"$/m);
      expect(v.unit).toMatch(/^StandardOutput=journal\+console$/m);
      expect((v.unit as string).split("\n")).toContain(`ExecStart=${v.exec as string}`);
    });

    it("nix flake check --no-build passes on the emitted flake", () => {
      flakeCheck(vms, nixpkgs);
    });

    it("host evaluation stays flat in the number of network-install guests", async () => {
      const guests = (n: number, offline = 0) =>
        Array.from(
          { length: n + offline },
          (_, i) =>
            `g${i + 1}: { memory: "1G", disk: "10G"${i >= n ? ", offlineInstall: true" : ""} }`,
        ).join(", ");
      const cases: [string, number, number][] = [
        ["no guests", 0, 0],
        ["1 guest", 1, 0],
        ["5 guests", 5, 0],
        ["20 guests", 20, 0],
        ["1 guest + 1 offline", 1, 1],
      ];
      const results: Record<
        string,
        { seconds: number; maxRssMiB: number; functionCalls: number; thunks: number }
      > = {};
      for (const [label, n, offline] of cases) {
        const root = join(dir, `scale-${n}-${offline}`);
        mkdirSync(root);
        const out = await emitFlake(
          root,
          `{ hosts: { study: { lan: { nic: "eth0", bridge: "br0" }, stateVersion: "26.05", guests: { ${guests(n, offline)} } } } }`,
        );
        writeHostFlake(join(root, "host"), out, nixpkgs, "study");
        lockFlake(join(root, "host"));
        // The best of three runs: the machine is shared, noise only ever adds time.
        const runs = [1, 2, 3].map(() =>
          nixEvalJson<string>(
            join(root, "host"),
            "nixosConfigurations.host.config.system.build.toplevel.drvPath",
          ),
        );
        results[label] = {
          seconds: Math.min(...runs.map((t) => t.seconds)),
          maxRssMiB: Math.max(...runs.map((t) => t.maxRssMiB)),
          functionCalls: Math.max(...runs.map((t) => t.stats.functionCalls)),
          thunks: Math.max(...runs.map((t) => t.stats.thunks)),
        };
      }
      console.log(
        "host evaluation (real NixOS; time best of 3, counts from NIX_SHOW_STATS):\n" +
          Object.entries(results)
            .map(
              ([label, t]) =>
                `  ${label.padEnd(22)} ${t.seconds.toFixed(2)} s  ${t.maxRssMiB} MiB  ` +
                `${(t.functionCalls / 1e6).toFixed(3)} M calls  ${(t.thunks / 1e6).toFixed(3)} M thunks`,
            )
            .join("\n"),
      );
      // The cost is the evaluator's work, not the time a shared machine happened to take: the
      // installer ISO is generic, so 20 guests cost at most 1.2 times what 1 costs.
      const one = results["1 guest"]!;
      const twenty = results["20 guests"]!;
      expect(twenty.functionCalls).toBeLessThanOrEqual(1.2 * one.functionCalls);
      expect(twenty.thunks).toBeLessThanOrEqual(1.2 * one.thunks);
    }, 1_800_000);
  },
);
