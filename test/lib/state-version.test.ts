/**
 * `system.stateVersion` comes from the hosts file: the guest's own, else its host's, and nothing
 * of vmflake's; what the bad-hosts corpus cannot show (values that resolve, and what is emitted).
 */
import { describe, expect, it } from "vitest";
import { printFile } from "../../dsl/index.ts";
import { guestSystemFile } from "../../lib/emit/guest-system.ts";
import { SpecError, resolveSpec } from "../../lib/index.ts";

const lan = { nic: "eth0", bridge: "br0" };
const sized = { memory: "1G", disk: "4G" };

function problems(input: unknown): string[] {
  try {
    resolveSpec(input);
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe("state versions", () => {
  it("a guest's own wins over its host's, which is the default for the others", () => {
    const spec = resolveSpec({
      hosts: {
        h: {
          lan,
          stateVersion: "25.11",
          guests: { a: sized, b: { ...sized, stateVersion: "26.05" } },
        },
        k: { lan, guests: { c: { ...sized, stateVersion: "99.11" } } },
      },
    });
    expect(spec.hosts.flatMap((h) => h.guests.map((g) => [g.name, g.stateVersion]))).toEqual([
      ["a", "25.11"],
      ["b", "26.05"],
      ["c", "99.11"],
    ]);
  });

  it("is what the guest's system file sets", () => {
    const spec = resolveSpec({
      hosts: { h: { lan, guests: { a: { ...sized, stateVersion: "24.11" } } } },
    });
    const host = spec.hosts[0]!;
    expect(printFile(guestSystemFile(host, host.guests[0]!, "hosts.ts"))).toContain(
      'system.stateVersion = "24.11";',
    );
  });

  it.each(["26.04", "2605", "26.5", " 26.05", "26.05 ", "26.05.1", "v26.05", "26-05", ""])(
    "%j is refused",
    (v) => {
      expect(
        problems({ hosts: { h: { lan, guests: { a: { ...sized, stateVersion: v } } } } }),
      ).toEqual([
        `hosts.h.guests.a.stateVersion: ${JSON.stringify(v)} is not a NixOS release name: those are "YY.05" and "YY.11", such as "26.05"`,
      ]);
    },
  );

  it("every guest without one is reported, each at its own path, with why", () => {
    const found = problems({ hosts: { h: { lan, guests: { a: sized, b: sized } } } });
    expect(found.map((p) => p.slice(0, p.indexOf(":")))).toEqual([
      "hosts.h.guests.a.stateVersion",
      "hosts.h.guests.b.stateVersion",
    ]);
    expect(found[0]).toContain("hosts.h.stateVersion");
    expect(found[0]).toContain("PostgreSQL");
    expect(found[0]).toContain("no default");
  });
});
