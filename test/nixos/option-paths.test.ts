/**
 * Every NixOS option that the emitted modules set (host modules, guest systems, the installer, the
 * flake's check host) must be one that nixpkgs declares. CI has no nixpkgs, so this test walks the
 * emitted definitions statically (test/nixos/option-paths.nix, stand-in lib and pkgs) and checks
 * each option against test/fixtures/nixos-options.json, which was checked against a real nixpkgs
 * (and is checked again by nixos-options.test.ts when NIXPKGS is set). Not gated on NIXPKGS.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWith } from "../support/tools.ts";
import { configPaths } from "./option-names.ts";
import { type FlakeOptions, readFixture, walkFlake } from "./option-walk.ts";
import { RICH_SPEC, buildFlake, removeBuiltFlakes } from "./support.ts";

afterAll(removeBuiltFlakes);

describeWith(
  ["nix-instantiate"],
  "emitted modules set only options listed in nixos-options.json",
  () => {
    const walked: { [which: string]: FlakeOptions } = {};
    const fixture = readFixture();

    beforeAll(async () => {
      for (const which of ["example", "rich"] as const) {
        walked[which] = walkFlake((await buildFlake(which)).dir);
      }
    }, 300_000);

    for (const which of ["example", "rich"] as const) {
      it(`${which} flake: every option it sets is listed (with the file that declares it)`, () => {
        const { set } = walked[which]!;
        expect(set.length).toBeGreaterThan(40);
        const unknown = set
          .filter((s) => !s.fromGuestConfig && !fixture.options.has(s.option))
          .map((s) => `${s.option}   (${s.where}: ${s.path.join(".")})`);
        expect(
          [...new Set(unknown)],
          "options set by emitted modules but not in test/fixtures/nixos-options.json: check each " +
            "exists in nixpkgs and add it with its declaring file (NIXPKGS=… npx tsx " +
            "test/nixos/update-options-fixture.ts does both)",
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
        "nixosModules.study systemd.services.<name>.serviceConfig",
        "nixosModules.study networking.interfaces.<name>.virtualOwner",
        "nixosModules.study boot.kernel.sysctl.<name>",
        "nixosConfigurations.alice services.openssh.settings.PasswordAuthentication",
        "nixosConfigurations.alice fileSystems.<name>.autoResize",
        "checks.x86_64-linux.host-study boot.loader.grub.device",
        "checks.x86_64-linux.host-study systemd.services.<name>.serviceConfig",
        "checks.x86_64-linux.guest-alice users.users.<name>.openssh.authorizedKeys.keys",
      ]) {
        expect(names, expected).toContain(expected);
      }
      const rich = new Set(walked.rich!.set.map((s) => s.option));
      for (const expected of [
        "networking.interfaces.<name>.ipv4.addresses",
        "networking.interfaces.<name>.macAddress",
        "networking.defaultGateway.address",
        "networking.nameservers",
        "systemd.network.networks.<name>.matchConfig",
        "networking.useNetworkd",
      ]) {
        expect(rich, expected).toContain(expected);
      }
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
