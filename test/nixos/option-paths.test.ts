/**
 * Every NixOS option that the emitted modules and the runtime module set (host modules, guest
 * systems, the installer, the flake's check host) must be one that nixpkgs declares, or one that
 * the runtime itself declares (`vmflake.*`, which is not looked for in nixpkgs). CI has no
 * nixpkgs, so this test walks the definitions with the stand-in nixpkgs (test/nixos/option-paths.nix:
 * each module called with its system's own module arguments) and checks each option against
 * test/fixtures/nixos-options.json, which was checked against a real nixpkgs (and is checked
 * again by nixos-options.test.ts when NIXPKGS is set). Not gated on NIXPKGS.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWith } from "../support/tools.ts";
import { configPaths } from "./option-names.ts";
import { type FlakeOptions, WALKED_FLAKES, readFixture, walkFlake } from "./option-walk.ts";
import { RICH_SPEC, buildFlake, removeBuiltFlakes } from "./support.ts";

afterAll(removeBuiltFlakes);

describeWith(
  ["nix-instantiate"],
  "emitted modules set only options listed in nixos-options.json",
  () => {
    const walked: { [which: string]: FlakeOptions } = {};
    const fixture = readFixture();

    beforeAll(async () => {
      for (const [name, which] of Object.entries(WALKED_FLAKES)) {
        walked[name] = walkFlake((await buildFlake(which)).dir);
      }
    }, 300_000);

    for (const which of Object.keys(WALKED_FLAKES)) {
      it(`${which} flake: every option it sets is listed (with the file that declares it)`, () => {
        const { set } = walked[which]!;
        expect(set.length).toBeGreaterThan(40);
        const unknown = set
          .filter((s) => !s.fromGuestConfig && !s.runtime && !fixture.options.has(s.option))
          .map((s) => `${s.option}   (${s.where}: ${s.path.join(".")})`);
        expect(
          [...new Set(unknown)],
          "options set by emitted modules but not in test/fixtures/nixos-options.json: check each " +
            "exists in nixpkgs and add it with its declaring file (NIXPKGS=… npx tsx " +
            "test/nixos/update-options-fixture.ts does both)",
        ).toEqual([]);
      });

      it(`${which} flake: every runtime option it sets is declared by the runtime and listed`, () => {
        const { set } = walked[which]!;
        const runtime = set.filter((s) => s.runtime);
        expect(runtime.length).toBeGreaterThan(10);
        // The runtime's options are its own namespace, and nothing else is taken for one.
        expect(runtime.filter((s) => !s.option.startsWith("vmflake."))).toEqual([]);
        expect(set.filter((s) => !s.runtime && s.option.startsWith("vmflake."))).toEqual([]);
        const unlisted = runtime
          .filter((s) => fixture.runtimeOptions.get(s.option) !== s.runtimeModule)
          .map((s) => `${s.option} (${s.where}, declared by ${s.runtimeModule})`);
        expect(
          [...new Set(unlisted)],
          "runtime options set by emitted modules but not in $runtimeOptions of " +
            "test/fixtures/nixos-options.json with that module (update-options-fixture.ts)",
        ).toEqual([]);
      });

      it(`${which} flake: imports only the nixpkgs modules listed`, () => {
        for (const m of walked[which]!.nixpkgsModules) {
          expect([...fixture.nixosModules.keys()]).toContain(`<modulesPath>/${m}`);
        }
      });
    }

    it("the walk sees the host, guest, check and installer definitions it should", () => {
      const names = new Set(walked.example!.set.map((s) => `${s.where} ${s.option}`));
      for (const expected of [
        // The values file, and what the runtime makes of them.
        "nixosModules.study vmflake.guests.<name>.memoryMiB",
        "nixosModules.study vmflake.installer.package",
        "nixosModules.study systemd.services.<name>.serviceConfig",
        "nixosModules.study systemd.services.<name>.requires",
        // The taps' units want the bridge's device (they attach their taps to it).
        "nixosModules.study systemd.services.<name>.wants",
        "nixosModules.study systemd.services.<name>.restartIfChanged",
        "nixosModules.study networking.bridges.<name>.interfaces",
        "nixosModules.study networking.interfaces.<name>.useDHCP",
        "nixosModules.study users.users.<name>.isSystemUser",
        "nixosModules.study boot.kernel.sysctl.<name>",
        "nixosModules.study boot.kernelModules",
        "nixosModules.study assertions",
        "packages.x86_64-linux.installer-study vmflake.installer.hostName",
        "packages.x86_64-linux.installer-study isoImage.squashfsCompression",
        "packages.x86_64-linux.installer-study systemd.services.<name>.serviceConfig",
        "nixosConfigurations.alice services.openssh.settings.PasswordAuthentication",
        "nixosConfigurations.alice fileSystems.<name>.autoResize",
        "checks.x86_64-linux.host-study boot.loader.grub.device",
        "checks.x86_64-linux.host-study systemd.services.<name>.serviceConfig",
        "checks.x86_64-linux.guest-alice users.users.<name>.openssh.authorizedKeys.keys",
      ]) {
        expect(names, expected).toContain(expected);
      }
      // The runtime's conditional settings: a static address and a fixed bridge MAC (lab), an
      // offline install (rack's cache).
      const rich = new Set(walked.rich!.set.map((s) => s.option));
      for (const expected of [
        "networking.interfaces.<name>.ipv4.addresses",
        "networking.interfaces.<name>.macAddress",
        "networking.defaultGateway.address",
        "networking.nameservers",
        "systemd.network.networks.<name>.matchConfig",
        "networking.useNetworkd",
        "vmflake.installer.offlineSystems.<name>",
        "environment.etc.<name>.source",
        "_module.args.<name>",
      ]) {
        expect(rich, expected).toContain(expected);
      }
      // The runtime's passthrough settings, there only for a guest with host devices.
      const passthrough = new Set(walked.passthrough!.set.map((s) => s.option));
      for (const expected of [
        "vmflake.guests.<name>.pci",
        "vmflake.guests.<name>.usb",
        "boot.kernelParams",
        "services.udev.extraRules",
        "systemd.services.<name>.before",
      ]) {
        expect(passthrough, expected).toContain(expected);
      }
      // What the runtime declares, per system: the host's and the installer's modules.
      expect(walked.example!.declared).toEqual(
        expect.arrayContaining([
          "nixosModules.study vmflake.guests",
          "nixosModules.study vmflake.lan.ipv4",
          "packages.x86_64-linux.installer-study vmflake.installer.offlineSystems",
        ]),
      );
    });

    it("a guest's own settings from the hosts file are told apart (they are the user's)", () => {
      const fromConfig = walked.rich!.set.filter((s) => s.fromGuestConfig);
      const declared = Object.entries(RICH_SPEC.hosts).flatMap(([, h]) =>
        Object.entries(h.guests).flatMap(([g, spec]) =>
          "config" in spec
            ? configPaths(spec.config).map((p) => `nixosConfigurations.${g} ${p}`)
            : [],
        ),
      );
      expect(fromConfig.map((s) => `${s.where} ${s.option}`).sort()).toEqual(
        expect.arrayContaining(declared),
      );
      expect(declared).toEqual(["nixosConfigurations.web services.dnsmasq.enable"]);
      expect(walked.example!.set.filter((s) => s.fromGuestConfig)).toEqual([]);
    });
  },
);
