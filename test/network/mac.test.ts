/**
 * Guest MACs: derived from the host and guest names (52:54:00 + the first three bytes of
 * SHA-256("<host>/<guest>")), the same on every run, and never silently shared: three bytes give
 * 16.7 million addresses, so among 10,000 guests two derived MACs do collide, and validation must
 * say so for each collision.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SpecError, resolveSpec } from "../../lib/index.ts";
import { deriveMac, macProblem } from "../../lib/mac.ts";
import { describeWith } from "../support/tools.ts";

/** The test's own implementation of the documented scheme. */
function expectedMac(host: string, guest: string): string {
  const hex = createHash("sha256").update(`${host}/${guest}`, "utf8").digest("hex");
  return `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

/** `sha256sum` in a shell, for each `host/guest` line: the first three bytes as a MAC. */
function shellMacs(pairs: readonly (readonly [string, string])[]): string[] {
  const script = `while IFS= read -r line; do
  h=$(printf '%s' "$line" | sha256sum | cut -c1-6)
  printf '52:54:00:%s:%s:%s\\n' "$(echo "$h" | cut -c1-2)" "$(echo "$h" | cut -c3-4)" "$(echo "$h" | cut -c5-6)"
done`;
  const input = pairs.map(([h, g]) => `${h}/${g}\n`).join("");
  return execFileSync("sh", ["-c", script], { input, encoding: "utf8" }).trim().split("\n");
}

const guest = { memory: "128M", disk: "1G", stateVersion: "26.05" } as const;
const lan = { nic: "eth0", bridge: "br0" } as const;

/** The problems `resolveSpec` reports for `spec` (none when it resolves). */
function problems(spec: unknown): { path: string; message: string }[] {
  try {
    resolveSpec(spec);
    return [];
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return e.problems.map((p) => ({ path: p.path, message: p.message }));
  }
}

/** 10,000 guests named guest-0 … guest-9999, dealt round-robin over 8 hosts. */
function manyGuests(mac: (host: string, name: string) => string | undefined = () => undefined) {
  const hosts: Record<string, { lan: typeof lan; guests: Record<string, object> }> = {};
  for (let h = 0; h < 8; h++) hosts[`host${h}`] = { lan, guests: {} };
  for (let i = 0; i < 10_000; i++) {
    const host = `host${i % 8}`;
    const name = `guest-${i}`;
    const m = mac(host, name);
    hosts[host]!.guests[name] = m === undefined ? guest : { ...guest, mac: m };
  }
  return { hosts };
}

describe("derived MACs", () => {
  it("are pinned: the seed's study machine keeps its guests' addresses", () => {
    // printf %s study/alice | sha256sum → 1ceedb…; printf %s study/bob | sha256sum → ac195f…
    expect(deriveMac("study", "alice")).toBe("52:54:00:1c:ee:db");
    expect(deriveMac("study", "bob")).toBe("52:54:00:ac:19:5f");
  });

  it("are the same on every run and for every spec that names the same host and guest", () => {
    const spec = { hosts: { study: { lan, guests: { alice: guest, bob: guest } } } };
    const macs = () => resolveSpec(spec).hosts[0]!.guests.map((g) => g.mac);
    expect(macs()).toEqual(macs());
    expect(macs()).toEqual([deriveMac("study", "alice"), deriveMac("study", "bob")]);
    // Other guests and hosts around them change nothing.
    const bigger = {
      hosts: {
        other: { lan, guests: { carol: guest } },
        study: { lan, guests: { zed: guest, bob: guest, alice: guest } },
      },
    };
    const study = resolveSpec(bigger).hosts.find((h) => h.name === "study")!;
    expect(study.guests.find((g) => g.name === "alice")!.mac).toBe("52:54:00:1c:ee:db");
    expect(study.guests.find((g) => g.name === "bob")!.mac).toBe("52:54:00:ac:19:5f");
  });

  it("depend on the host too: the same guest name on two hosts gets two MACs", () => {
    expect(deriveMac("study", "web")).not.toBe(deriveMac("attic", "web"));
  });

  it("are unicast, locally administered and valid for 10,000 names", () => {
    const wrong: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const [host, name] = [`host${i % 8}`, `guest-${i}`];
      const mac = deriveMac(host, name);
      const first = parseInt(mac.slice(0, 2), 16);
      // unicast: bit 0 of the first byte clear; locally administered: bit 1 set
      if (mac !== expectedMac(host, name) || macProblem(mac) || (first & 3) !== 2) {
        wrong.push(`${host}/${name}: ${mac}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describeWith(["sh", "sha256sum", "cut"], "derived MACs against sha256sum in a shell", () => {
  it("agree for the pinned names and for names with every allowed character", () => {
    const pairs: [string, string][] = [
      ["study", "alice"],
      ["study", "bob"],
      ["h", "a"],
      ["rack-01", "db-primary-2"],
      ["x".repeat(63), "y".repeat(29)],
    ];
    for (let i = 0; i < 20; i++) pairs.push([`host${i}`, `guest-${i * 7919}`]);
    expect(pairs.map(([h, g]) => deriveMac(h, g))).toEqual(shellMacs(pairs));
    expect(shellMacs([["study", "alice"]])).toEqual(["52:54:00:1c:ee:db"]);
  });
});

describe("MAC collisions", () => {
  it("among 10,000 derived MACs on 8 hosts, every collision is reported, with both guests named", () => {
    // The test's own collision search, in the order hosts and their guests are declared.
    const spec = manyGuests();
    const first = new Map<string, string>();
    const expected: { path: string; message: string }[] = [];
    for (const [host, h] of Object.entries(spec.hosts)) {
      for (const name of Object.keys(h.guests)) {
        const mac = expectedMac(host, name);
        const path = `hosts.${host}.guests.${name}`;
        const owner = first.get(mac);
        if (owner === undefined) first.set(mac, path);
        else
          expected.push({
            path: `${path}.mac`,
            message: `${mac} is also the MAC of ${owner}; set a different mac explicitly`,
          });
      }
    }
    // These names do collide (a birthday bound of about 3 pairs is expected among 10,000).
    expect(expected).toEqual([
      {
        path: "hosts.host1.guests.guest-6481.mac",
        message:
          "52:54:00:0e:0f:b9 is also the MAC of hosts.host1.guests.guest-2505; set a different mac explicitly",
      },
      {
        path: "hosts.host7.guests.guest-1095.mac",
        message:
          "52:54:00:09:6f:c5 is also the MAC of hosts.host2.guests.guest-5618; set a different mac explicitly",
      },
    ]);
    expect(problems(spec)).toEqual(expected);
  });

  it("are resolved by an explicit MAC, after which all 10,000 are distinct", () => {
    const explicit = new Map([
      ["guest-6481", "52:54:00:ff:00:01"],
      ["guest-1095", "52:54:00:ff:00:02"],
    ]);
    const resolved = resolveSpec(manyGuests((_, name) => explicit.get(name)));
    const macs = resolved.hosts.flatMap((h) => h.guests.map((g) => g.mac));
    expect(macs).toHaveLength(10_000);
    expect(new Set(macs).size).toBe(10_000);
  });

  it("an explicit duplicate MAC is reported, whatever its case, on any host", () => {
    const spec = {
      hosts: {
        h1: { lan, guests: { a: { ...guest, mac: "52:54:00:AA:BB:CC" } } },
        h2: {
          lan,
          guests: {
            b: { ...guest, mac: "52:54:00:aa:bb:cc" },
            c: { ...guest, mac: "52:54:00:Aa:bB:cC" },
          },
        },
      },
    };
    expect(problems(spec)).toEqual([
      {
        path: "hosts.h2.guests.b.mac",
        message:
          "52:54:00:aa:bb:cc is also the MAC of hosts.h1.guests.a; set a different mac explicitly",
      },
      {
        path: "hosts.h2.guests.c.mac",
        message:
          "52:54:00:aa:bb:cc is also the MAC of hosts.h1.guests.a; set a different mac explicitly",
      },
    ]);
  });

  it("an explicit MAC equal to another guest's derived MAC is reported", () => {
    const derived = expectedMac("h1", "a"); // 52:54:00:… of "h1/a"
    const spec = {
      hosts: {
        h1: { lan, guests: { a: guest } },
        h2: { lan, guests: { b: { ...guest, mac: derived.toUpperCase() } } },
      },
    };
    expect(problems(spec)).toEqual([
      {
        path: "hosts.h2.guests.b.mac",
        message: `${derived} is also the MAC of hosts.h1.guests.a; set a different mac explicitly`,
      },
    ]);
  });
});
