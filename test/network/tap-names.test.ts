/**
 * Default tap names: `vm-<guest>` when that fits Linux's 15-character limit, otherwise `vm-` and
 * the first 8 hex digits of SHA-256(<guest>); stable, unique per host (a real hash collision is
 * reported), and accepted by the kernel as interface names.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpecError, resolveSpec } from "../../lib/index.ts";
import { IFNAME, defaultTap } from "../../lib/names.ts";
import { describeWith } from "../support/tools.ts";
import { createNetns, type IpLink, type Netns } from "./support/netns.ts";

const IFNAMSIZ = 16; // including the terminating NUL
const guest = { memory: "128M", disk: "1G", stateVersion: "26.05" } as const;
const lan = { nic: "eth0", bridge: "br0" } as const;

/** The test's own implementation of the documented fallback. */
const hashedTap = (name: string): string =>
  `vm-${createHash("sha256").update(name, "utf8").digest("hex").slice(0, 8)}`;

/** Deterministic guest names of every allowed length (1–29), 10,000 of them, all distinct. */
function guestNames(): string[] {
  const names: string[] = [];
  for (let i = 0; names.length < 10_000; i++) {
    const base = `g${i.toString(36)}`;
    const length = 1 + (i % 29);
    // The "-" keeps names distinct: what precedes it is i in base 36.
    const filler = "abcdefghijklmnopqrstuvwxyz0123".slice(0, length - base.length - 1);
    names.push(filler === "" ? base : `${base}-${filler}`);
  }
  return names;
}

/**
 * Two guest names whose hashed taps collide, found by searching `long-guest-name-<i>` for
 * i = 0, 1, … (the first pair is at i = 79643; `printf %s long-guest-name-58067 | sha256sum` and
 * the same for 79643 both start with a3ba0123).
 */
const TAP_COLLISION = ["long-guest-name-58067", "long-guest-name-79643"] as const;

describe("default tap names", () => {
  it("are vm-<guest> up to 12 characters of guest name, i.e. up to the 15-character limit", () => {
    expect(defaultTap("a")).toBe("vm-a");
    expect(defaultTap("alice")).toBe("vm-alice");
    expect(defaultTap("abcdefghijkl")).toBe("vm-abcdefghijkl");
    expect("vm-abcdefghijkl").toHaveLength(IFNAMSIZ - 1);
  });

  it("fall back to vm- and 8 hex digits of SHA-256(guest) from 13 characters on (pinned)", () => {
    expect(defaultTap("abcdefghijklm")).toBe(hashedTap("abcdefghijklm"));
    expect(defaultTap("bob-with-a-longer-name-abc123")).toBe("vm-ea877633");
    expect(defaultTap(TAP_COLLISION[0])).toBe("vm-a3ba0123");
  });

  it("are valid, at most 15 characters, stable and unique for 10,000 guest names of all lengths", () => {
    const names = guestNames();
    expect(new Set(names).size).toBe(names.length);
    const taps = names.map((n) => defaultTap(n));
    const wrong = names.flatMap((n, i) => {
      const tap = taps[i]!;
      const ok =
        tap.length < IFNAMSIZ &&
        IFNAME.test(tap) &&
        tap === (n.length <= 12 ? `vm-${n}` : hashedTap(n)) &&
        defaultTap(n) === tap;
      return ok ? [] : [`${n}: ${tap}`];
    });
    expect(wrong).toEqual([]);
    expect(taps.filter((t) => /^vm-[0-9a-f]{8}$/.test(t)).length).toBeGreaterThan(5_000);
    expect(new Set(taps).size).toBe(taps.length);
  });

  it("are checked per host when they do collide: a real hash collision is reported", () => {
    const [a, b] = TAP_COLLISION;
    expect(defaultTap(a)).toBe(defaultTap(b));
    const sameHost = { hosts: { h: { lan, guests: { [a]: guest, [b]: guest } } } };
    let error: unknown;
    try {
      resolveSpec(sameHost);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).problems).toEqual([
      {
        path: `hosts.h.guests.${b}.tap`,
        message: `"vm-a3ba0123" is already the tap of guest ${a} on this host`,
      },
    ]);
    // On two hosts the same tap name is fine: taps are local to their host.
    const twoHosts = {
      hosts: { h1: { lan, guests: { [a]: guest } }, h2: { lan, guests: { [b]: guest } } },
    };
    expect(resolveSpec(twoHosts).hosts.map((h) => h.guests[0]!.tap)).toEqual([
      "vm-a3ba0123",
      "vm-a3ba0123",
    ]);
  });
});

describeWith(["sh", "sha256sum", "cut"], "hashed tap names against sha256sum in a shell", () => {
  it("agree for long names", () => {
    const names = [
      "abcdefghijklm",
      "bob-with-a-longer-name-abc123",
      ...TAP_COLLISION,
      ...guestNames()
        .filter((n) => n.length > 12)
        .slice(0, 20),
    ];
    const script = `while IFS= read -r n; do printf 'vm-%s\\n' "$(printf '%s' "$n" | sha256sum | cut -c1-8)"; done`;
    const shell = execFileSync("sh", ["-c", script], {
      input: names.map((n) => `${n}\n`).join(""),
      encoding: "utf8",
    });
    expect(names.map((n) => defaultTap(n))).toEqual(shell.trim().split("\n"));
  });
});

describeWith(
  ["ip"],
  "default tap names in a network namespace",
  () => {
    let ns: Netns;
    beforeAll(() => {
      ns = createNetns();
    });
    afterAll(() => ns?.remove());

    it("the kernel accepts each default tap (ip tuntap add, as the tap unit's tap.sh runs it)", () => {
      const names = guestNames();
      // Every long name's hashed tap in a sample of 500, and the short ones up to the limit.
      const sample = [
        ...names.filter((n) => n.length > 12).slice(0, 500),
        ...names.filter((n) => n.length >= 10 && n.length <= 12).slice(0, 50),
        ...TAP_COLLISION.slice(0, 1),
      ];
      const taps = [...new Set(sample.map((n) => defaultTap(n)))];
      const r = ns.batch(taps.map((t) => `tuntap add dev ${t} mode tap user root vnet_hdr`));
      expect(r.stderr).toBe("");
      expect(r.ok).toBe(true);
      const links = ns.ipJson<IpLink[]>("link", "show").map((l) => l.ifname);
      expect(links.filter((l) => l !== "lo").sort()).toEqual([...taps].sort());
    });

    it("and refuses vm-<guest> for a 13-character guest, which is why the fallback exists", () => {
      const r = ns.tryIp("tuntap", "add", "dev", "vm-abcdefghijklm", "mode", "tap");
      expect(r.ok).toBe(false);
      expect(r.stderr).toMatch(/not a valid ifname/);
    });
  },
  { root: true },
);
