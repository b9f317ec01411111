/** The first install's fields of hosts.ts, their defaults and their validation. */
import { describe, expect, it } from "vitest";
import { resolveSpec, SpecError } from "../../lib/index.ts";

const lan = { nic: "eth0", bridge: "br0" };

function problems(input: unknown): string[] {
  try {
    resolveSpec(input);
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  throw new Error("expected a SpecError");
}

describe("install fields", () => {
  it("defaults: network install, 30 minutes, installer memory at least 3 GiB", () => {
    const spec = resolveSpec({
      hosts: {
        h: {
          lan,
          stateVersion: "26.05",
          guests: { a: { memory: "1G", disk: "4G" }, b: { memory: "6G", disk: "4G" } },
        },
      },
    });
    const [a, b] = spec.hosts[0]!.guests;
    expect(a!.install).toEqual({
      offline: false,
      timeoutSeconds: 1800,
      memoryMiB: 3072,
      unit: "qemu-guest-a-install",
      workDir: "/var/lib/qemu-guests/a/install.tmp",
      log: "/var/lib/qemu-guests/a/install.log",
    });
    expect(b!.install.memoryMiB).toBe(6144);
  });

  it("offlineInstall per host, overridden per guest; installTimeout per guest", () => {
    const spec = resolveSpec({
      hosts: {
        h: {
          lan,
          stateDir: "/var/lib/vms",
          offlineInstall: true,
          stateVersion: "26.05",
          guests: {
            a: { memory: "1G", disk: "4G" },
            b: { memory: "1G", disk: "4G", offlineInstall: false, installTimeout: 7200 },
          },
        },
        k: {
          lan,
          stateVersion: "26.05",
          guests: { c: { memory: "1G", disk: "4G", offlineInstall: true } },
        },
      },
    });
    const guests = spec.hosts.flatMap((h) => h.guests);
    expect(guests.map((g) => [g.name, g.install.offline, g.install.timeoutSeconds])).toEqual([
      ["a", true, 1800],
      ["b", false, 7200],
      ["c", true, 1800],
    ]);
    expect(guests[0]!.install.workDir).toBe("/var/lib/vms/a/install.tmp");
  });

  it("every problem at once, each with its path", () => {
    expect(
      problems({
        hosts: {
          h: {
            lan,
            offlineInstall: "yes",
            stateVersion: "26.05",
            guests: {
              a: { memory: "1G", disk: "4G", offlineInstall: 1, installTimeout: 30 },
              b: { memory: "1G", disk: "4G", installTimeout: 90.5 },
              c: { memory: "1G", disk: "4G", installTimeout: "30m", installTimout: 60 },
              d: { memory: "1G", disk: "4G", installTimeout: 86401 },
            },
          },
        },
      }),
    ).toEqual([
      'hosts.h.offlineInstall: must be true or false, got the string "yes"',
      "hosts.h.guests.a.offlineInstall: must be true or false, got the number 1",
      "hosts.h.guests.a.installTimeout: 30 is out of range; use seconds from 60 to 86400",
      "hosts.h.guests.b.installTimeout: 90.5 is not a whole number; use a whole number from 60 to 86400",
      'hosts.h.guests.c.installTimout: unknown field; did you mean "installTimeout"?',
      'hosts.h.guests.c.installTimeout: must be seconds, a whole number from 60 to 86400; got the string "30m"',
      "hosts.h.guests.d.installTimeout: 86401 is out of range; use seconds from 60 to 86400",
    ]);
  });
});
