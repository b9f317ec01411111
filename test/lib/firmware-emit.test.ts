/**
 * `firmware`, `tpm` and `memoryBalloon` from hosts.ts to what the emitted flake evaluates to
 * (stand-in nixpkgs): the host's values file carries only what differs from the runtime's
 * defaults, a BIOS guest's files are what they were before these fields existed, and the runtime
 * turns the values into the firmware check, the TPM unit and QEMU's devices; the guest's own
 * system gets the matching boot loader and TPM support.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { build, REPO_ROOT } from "../support/build-cli.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { evalJson, flakeOutputs, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith } from "../support/tools.ts";

const lib = JSON.stringify(join(REPO_ROOT, "lib", "index.ts"));

describeWith(["nix-instantiate"], "firmware, TPM and balloon in the emitted flake", () => {
  const dir = tempDir();
  const out = join(dir, "flake");
  beforeAll(async () => {
    writeFileSync(
      join(dir, "hosts.ts"),
      `import { defineHosts } from ${lib};
export default defineHosts({ hosts: { study: {
  lan: { nic: "eno1", bridge: "br0" },
  stateVersion: "26.05",
  guests: {
    plain: { memory: "1G", disk: "4G" },
    vault: { memory: "4G", disk: "40G", firmware: "uefi", tpm: true },
    tight: { memory: "1G", disk: "4G", firmware: "bios", memoryBalloon: false },
  },
} } });
`,
    );
    const r = await build(["--hosts", join(dir, "hosts.ts"), "--out", out, "--no-typecheck"]);
    expect(r.stderr).toBe("");
  });

  const evalIn = <T>(body: string): T =>
    evalJson<T>(`let
      o = ${flakeOutputs(out)};
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      c = (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.study ]; }).config;
      guest = name: o.nixosConfigurations.\${name}.config;
    in ${body}`);

  it("the values file names only what differs from the defaults", () => {
    const text = readFileSync(join(out, "modules", "study.nix"), "utf8");
    const block = (g: string) =>
      new RegExp(`\\n      ${g} = \\{\\n([\\s\\S]*?)\\n      \\};`).exec(text)![1]!;
    expect(block("vault")).toContain('firmware = "uefi";');
    expect(block("vault")).toContain("tpm = true;");
    expect(block("tight")).toContain("memoryBalloon = false;");
    for (const word of ["firmware", "tpm", "memoryBalloon"]) {
      expect(block("plain")).not.toContain(word);
    }
    expect(block("tight")).not.toContain("firmware");
  });

  it("a BIOS guest keeps GRUB on its disk; a UEFI guest gets systemd-boot and its ESP, and TPM support", () => {
    const r = evalIn<{
      plain: { grub: string; sdboot: boolean; boot: boolean; tpm: boolean };
      vault: { grub: string; sdboot: boolean; touch: boolean; boot: unknown; tpm: boolean };
    }>(`{
      plain = let g = guest "plain"; in {
        grub = g.boot.loader.grub.device;
        sdboot = g.boot.loader ? systemd-boot;
        boot = g.fileSystems ? "/boot";
        tpm = g ? security;
      };
      vault = let g = guest "vault"; in {
        grub = g.boot.loader.grub.device or "";
        sdboot = g.boot.loader.systemd-boot.enable;
        touch = g.boot.loader.efi.canTouchEfiVariables;
        boot = g.fileSystems."/boot";
        tpm = g.security.tpm2.enable;
      };
    }`);
    expect(r.plain).toEqual({
      grub: "/dev/disk/by-id/virtio-vmflake-root",
      sdboot: false,
      boot: false,
      tpm: false,
    });
    expect(r.vault).toEqual({
      grub: "",
      sdboot: true,
      touch: false,
      boot: { device: "/dev/disk/by-label/ESP", fsType: "vfat", options: ["umask=0077"] },
      tpm: true,
    });
  });

  it("the runtime: every guest's unit checks its firmware; only vault has a TPM unit; devices by field", () => {
    const r = evalIn<{
      cond: Record<string, string>;
      start: Record<string, string>;
      units: string[];
      install: Record<string, string>;
    }>(`let
      names = [ "plain" "vault" "tight" ];
      sc = n: c.systemd.services."qemu-guest-\${n}".serviceConfig;
      per = f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    in {
      cond = per (n: (sc n).ExecCondition);
      start = per (n: (sc n).ExecStart);
      install = per (n: c.systemd.services."qemu-guest-\${n}-install".serviceConfig.ExecStart);
      units = builtins.filter (u: builtins.match ".*-tpm" u != null) (builtins.attrNames c.systemd.services);
    }`);
    expect(r.units).toEqual(["qemu-guest-vault-tpm"]);
    const cond = (n: string) => parseExecLine(r.cond[n]!).slice(1);
    expect(cond("plain")).toEqual([
      "--guest",
      "plain",
      "--image",
      "/var/lib/qemu-guests/plain/disk.qcow2",
      "--record",
      "/var/lib/qemu-guests/plain/firmware",
      "--declared",
      "bios",
    ]);
    expect(cond("vault")).toEqual([
      "--guest",
      "vault",
      "--image",
      "/var/lib/qemu-guests/vault/disk.qcow2",
      "--record",
      "/var/lib/qemu-guests/vault/firmware",
      "--declared",
      "uefi",
      "--uefi-vars",
      "/var/lib/qemu-guests/vault/uefi-vars.fd",
      "--uefi-vars-template",
      expect.stringMatching(/-OVMF-fd-stand-in\/FV\/OVMF_VARS\.fd$/),
    ]);
    const start = (n: string) => parseExecLine(r.start[n]!);
    const balloon = "virtio-balloon-pci,id=balloon0,free-page-reporting=on";
    // The balloon is the last device, after the NIC, so no existing PCI slot moves.
    expect(start("plain").slice(-2)).toEqual(["-device", balloon]);
    expect(start("plain").join(" ")).not.toMatch(/pflash|tpm/);
    expect(start("tight")).not.toContain(balloon);
    expect(start("tight").slice(-2)[1]).toMatch(/^virtio-net-pci,/);
    expect(start("vault")).toEqual(
      expect.arrayContaining([
        "pflash0=ovmf-code,pflash1=ovmf-vars",
        "socket,id=tpm0-chr,path=/run/qemu-guests/vault-tpm/swtpm.sock",
        "emulator,id=tpm0,chardev=tpm0-chr",
        "tpm-crb,tpmdev=tpm0",
        balloon,
      ]),
    );
    // BIOS installs pass no firmware arguments: their install unit is what it was.
    expect(parseExecLine(r.install["plain"]!)).not.toContain("--firmware");
    const vaultInstall = parseExecLine(r.install["vault"]!);
    expect(
      vaultInstall.slice(vaultInstall.indexOf("--firmware"), vaultInstall.indexOf("--")),
    ).toEqual([
      "--firmware",
      "uefi",
      "--uefi-vars",
      "/var/lib/qemu-guests/vault/uefi-vars.fd",
      "--uefi-vars-template",
      expect.stringMatching(/OVMF_VARS\.fd$/),
    ]);
  });

  it("the runtime refuses a TPM without UEFI and a guest named like another's TPM unit", () => {
    const failures = evalIn<string[]>(`let
      cfg = (nixpkgs.lib.nixosSystem { modules = [ o.nixosModules.study {
        vmflake.guests.tight.tpm = true;
        vmflake.guests.vault-tpm = { memoryMiB = 512; diskBytes = 4294967296; tap = "vm-vt"; mac = "52:54:00:00:00:09"; };
      } ]; }).config;
    in map (a: a.message) (builtins.filter (a: !a.assertion) cfg.assertions)`);
    expect(failures).toEqual(
      expect.arrayContaining([
        'vmflake.guests.tight.tpm: a TPM needs firmware = "uefi"',
        "vmflake.guests.vault-tpm: qemu-guest-vault-tpm is guest vault's TPM unit; rename that guest",
      ]),
    );
  });
});
