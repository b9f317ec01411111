/**
 * Real NixOS tier: a host with a UEFI guest that has a TPM, and a BIOS guest without a balloon,
 * evaluated by the real NixOS module system (NIXPKGS) down to toplevel .drv files: the rendered
 * units of the host (swtpm's unit, the firmware check, QEMU with nixpkgs' OVMF) and the UEFI
 * guest's own system (systemd-boot, its EFI system partition, TPM support).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { HostsSpec } from "../../lib/index.ts";
import {
  buildFlake,
  describeNixpkgs,
  realEval,
  removeBuiltFlakes,
  reportTime,
  unitSection,
  unitValues,
} from "./support.ts";

const SPEC: HostsSpec = {
  hosts: {
    vhost: {
      lan: { nic: "eno1", bridge: "br0" },
      stateVersion: "26.05",
      guests: {
        vault: { memory: "4G", disk: "40G", firmware: "uefi", tpm: true },
        plain: { memory: "1G", disk: "8G", memoryBalloon: false },
      },
    },
  },
};

interface HostResult {
  drvPath: string;
  units: Record<string, string>;
  failedAssertions: string[];
  warnings: string[];
}

interface GuestResult {
  drvPath: string;
  grubDevice: string;
  systemdBoot: boolean;
  canTouchEfiVariables: boolean;
  bootFileSystem: { device: string; fsType: string; options: string[] } | null;
  tpm2: boolean;
  failedAssertions: string[];
  warnings: string[];
}

afterAll(removeBuiltFlakes);

describeNixpkgs("real NixOS: UEFI, TPM and balloon", () => {
  let host: HostResult;
  let vault: GuestResult;
  let plain: GuestResult;
  beforeAll(async () => {
    const flake = await buildFlake(SPEC);
    const h = realEval<{ host: HostResult }>({
      flakeDir: flake.dir,
      scenario: "host",
      host: "vhost",
    });
    reportTime("host eval with a UEFI+TPM guest", h.seconds);
    host = h.result.host;
    for (const name of ["vault", "plain"]) {
      const g = realEval<{ guest: GuestResult }>({
        flakeDir: flake.dir,
        scenario: "guest",
        guest: name,
      });
      reportTime(`guest eval, ${name}`, g.seconds);
      if (name === "vault") vault = g.result.guest;
      else plain = g.result.guest;
    }
  }, 1_200_000);

  it("the host evaluates, no failed assertion or warning", () => {
    expect(host.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-vhost-.*\.drv$/);
    expect(host.failedAssertions).toEqual([]);
    expect(host.warnings).toEqual([]);
  });

  it("qemu-guest-vault-tpm.service: swtpm as the guest's user, part of the guest, forking", () => {
    const unit = host.units["qemu-guest-vault-tpm.service"]!;
    expect(unit).toBeDefined();
    expect(unitValues(unit, "PartOf")).toEqual(["qemu-guest-vault.service"]);
    const service = unitSection(unit, "Service").join("\n");
    expect(unitValues(service, "Type")).toEqual(["forking"]);
    expect(unitValues(service, "User")).toEqual(["vm-vault"]);
    expect(unitValues(service, "StateDirectory")).toEqual([
      "qemu-guests/vault",
      "qemu-guests/vault/tpm",
    ]);
    expect(unitValues(service, "RuntimeDirectory")).toEqual(["qemu-guests/vault-tpm"]);
    const start = unitValues(service, "ExecStart")[0]!;
    expect(start).toMatch(
      /^"\/nix\/store\/[a-z0-9]{32}-swtpm-[^/]*\/bin\/swtpm" "socket" "--tpm2"/,
    );
    expect(start).toContain('"--terminate" "--daemon"');
    expect(host.units["qemu-guest-plain-tpm.service"]).toBeUndefined();
  });

  it("qemu-guest-vault.service: requires its TPM, checks its firmware first, runs OVMF from nixpkgs", () => {
    const unit = host.units["qemu-guest-vault.service"]!;
    expect(unitValues(unit, "Requires").join(" ").split(" ")).toContain(
      "qemu-guest-vault-tpm.service",
    );
    expect(unitValues(unit, "After").join(" ").split(" ")).toContain(
      "qemu-guest-vault-tpm.service",
    );
    const service = unitSection(unit, "Service").join("\n");
    const cond = unitValues(service, "ExecCondition")[0]!;
    expect(cond).toMatch(/-vmflake-check-firmware\/bin\/vmflake-check-firmware" "--guest" "vault"/);
    expect(cond).toMatch(
      /"--declared" "uefi" "--uefi-vars" "\/var\/lib\/qemu-guests\/vault\/uefi-vars.fd" "--uefi-vars-template" "\/nix\/store\/[a-z0-9]{32}-OVMF-[^/]*-fd\/FV\/OVMF_VARS.fd"$/,
    );
    const start = unitValues(service, "ExecStart")[0]!;
    expect(start).toMatch(
      /"driver=file,node-name=ovmf-code-file,filename=\/nix\/store\/[a-z0-9]{32}-OVMF-[^/]*-fd\/FV\/OVMF_CODE.fd,read-only=on"/,
    );
    expect(start).toContain('"tpm-crb,tpmdev=tpm0"');
    expect(start).toContain('"virtio-balloon-pci,id=balloon0,free-page-reporting=on"');
    const install = unitSection(host.units["qemu-guest-vault-install.service"]!, "Service").join(
      "\n",
    );
    expect(unitValues(install, "ExecStart")[0]).toContain('"--firmware" "uefi"');
  });

  it("qemu-guest-plain.service: BIOS, no TPM, no balloon, but the firmware check", () => {
    const service = unitSection(host.units["qemu-guest-plain.service"]!, "Service").join("\n");
    expect(unitValues(service, "ExecCondition")[0]).toMatch(/"--declared" "bios"$/);
    const start = unitValues(service, "ExecStart")[0]!;
    expect(start).not.toMatch(/pflash|tpm|balloon/);
  });

  it("the UEFI guest's system: systemd-boot on its ESP, its NVRAM left alone, TPM support", () => {
    expect(vault.drvPath).toMatch(/-nixos-system-vault-.*\.drv$/);
    expect(vault).toMatchObject({
      grubDevice: "",
      systemdBoot: true,
      canTouchEfiVariables: false,
      tpm2: true,
      failedAssertions: [],
      warnings: [],
    });
    expect(vault.bootFileSystem).toMatchObject({
      device: "/dev/disk/by-label/ESP",
      fsType: "vfat",
    });
    expect(vault.bootFileSystem!.options).toContain("umask=0077");
    expect(plain).toMatchObject({
      grubDevice: "/dev/disk/by-id/virtio-vmflake-root",
      systemdBoot: false,
      bootFileSystem: null,
      tpm2: false,
      failedAssertions: [],
    });
  });
});
