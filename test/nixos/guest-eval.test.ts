/**
 * Real NixOS tier: every emitted nixosConfigurations.<guest> (the system the installer puts on the
 * guest's disk) is evaluated by the real NixOS module system down to its toplevel .drv, one
 * `nix eval` per guest (see test/nixos/real-nixos.nix), and what it was meant to configure is
 * checked.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  buildFlake,
  removeBuiltFlakes,
  describeNixpkgs,
  realEval,
  reportTime,
  unitSection,
  unitValues,
} from "./support.ts";

interface GuestResult {
  readonly drvPath: string;
  readonly hostName: string;
  readonly hostPlatform: string;
  readonly grubDevice: string;
  readonly kernelParams: readonly string[];
  readonly initrdModules: readonly string[];
  readonly growPartition: boolean;
  readonly rootFileSystem: { device: string; fsType: string; autoResize: boolean };
  readonly sshd: {
    enable: boolean;
    PasswordAuthentication: boolean;
    KbdInteractiveAuthentication: boolean;
  };
  readonly rootKeys: readonly string[];
  readonly useDHCP: boolean;
  readonly useNetworkd: boolean;
  readonly networkUnits: { readonly [file: string]: string };
  readonly stateVersion: string;
  readonly dnsmasq: boolean;
  readonly dnsmasqUnit: boolean;
  readonly failedAssertions: readonly string[];
  readonly warnings: readonly string[];
}

const KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a dan@carbon";

function evalGuests(which: "example" | "rich", guests: readonly string[]) {
  return async () => {
    const flake = await buildFlake(which);
    const out: { [name: string]: GuestResult } = {};
    for (const guest of guests) {
      const { result, seconds } = realEval<{ guest: GuestResult }>({
        flakeDir: flake.dir,
        scenario: "guest",
        guest,
      });
      reportTime(`guest eval, ${guest} of the ${which} flake`, seconds);
      out[guest] = result.guest;
    }
    return out;
  };
}

function expectCommon(g: GuestResult, name: string): void {
  expect(g.drvPath).toMatch(new RegExp(`^/nix/store/[a-z0-9]{32}-nixos-system-${name}-.*\\.drv$`));
  expect(g.hostName).toBe(name);
  expect(g.hostPlatform).toBe("x86_64-linux");
  expect(g.grubDevice).toBe("/dev/disk/by-id/virtio-vmflake-root");
  expect(g.kernelParams).toContain("console=ttyS0");
  // The qemu-guest profile is imported: virtio drivers in the initrd.
  expect(g.initrdModules).toEqual(
    expect.arrayContaining(["virtio_blk", "virtio_pci", "virtio_net"]),
  );
  expect(g.growPartition).toBe(true);
  expect(g.rootFileSystem).toEqual({
    device: "/dev/disk/by-label/nixos",
    fsType: "ext4",
    autoResize: true,
  });
  expect(g.sshd).toEqual({
    enable: true,
    PasswordAuthentication: false,
    KbdInteractiveAuthentication: false,
  });
  expect(g.stateVersion).toBe("26.05");
  expect(g.failedAssertions).toEqual([]);
  expect(g.warnings).toEqual([]);
}

afterAll(removeBuiltFlakes);

describeNixpkgs("real NixOS: guest systems of the example (alice, bob)", () => {
  let guests: { [name: string]: GuestResult };
  beforeAll(async () => {
    guests = await evalGuests("example", ["alice", "bob"])();
  }, 900_000);

  it("each evaluates to a toplevel .drv with what vmflake set", () => {
    for (const name of ["alice", "bob"]) {
      const g = guests[name]!;
      expectCommon(g, name);
      expect(g.rootKeys).toEqual([KEY]);
      expect(g.useDHCP).toBe(true);
      expect(g.useNetworkd).toBe(false);
    }
    expect(guests.alice!.drvPath).not.toBe(guests.bob!.drvPath);
  });
});

describeNixpkgs("real NixOS: guest systems of the richer description", () => {
  const names = ["database-primary-eu", "web", "nightly-builder-arm", "cache"];
  let guests: { [name: string]: GuestResult };
  beforeAll(async () => {
    guests = await evalGuests("rich", names)();
  }, 900_000);

  it("each evaluates to a toplevel .drv with what vmflake set", () => {
    for (const name of names) expectCommon(guests[name]!, name);
    // rack has no ssh keys: sshd runs, but nobody can log in with a password or a key.
    expect(guests.cache!.rootKeys).toEqual([]);
    expect(guests.web!.rootKeys).toEqual([KEY]);
  });

  it("a static IPv4 guest: networkd, matched by its MAC, address, gateway and DNS", () => {
    const g = guests["database-primary-eu"]!;
    expect(g.useDHCP).toBe(false);
    expect(g.useNetworkd).toBe(true);
    const lan = g.networkUnits["10-lan.network"]!;
    expect(unitSection(lan, "Match")).toEqual(["MACAddress=52:54:00:40:aa:fe"]);
    expect(unitValues(lan, "Address")).toEqual(["192.0.2.20/24"]);
    expect(unitValues(lan, "Gateway")).toEqual(["192.0.2.1"]);
    expect(unitValues(lan, "DNS")).toEqual(["192.0.2.53"]);
  });

  it("a guest's own settings from the hosts file reach its system (services.dnsmasq)", () => {
    expect(guests.web!.dnsmasq).toBe(true);
    expect(guests.web!.dnsmasqUnit).toBe(true);
    expect(guests.cache!.dnsmasq).toBe(false);
  });
});
