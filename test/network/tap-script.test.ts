/**
 * The host's tap of one guest (lib/runtime/nixos/scripts/tap.sh, the program of the oneshot unit
 * vmflake-tap-<tap>.service, and with `attach` of the scripted bridge unit's ExecStartPost), run
 * as writeShellApplication builds it, with the real `ip`, inside a network namespace this test
 * creates (`ip netns exec` gives the script that namespace's /sys/class/net too). The guest's user
 * is `nobody`; `daemon` plays another guest's user.
 */
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { removeScratchDir, scratchDir } from "../support/temp.ts";
import { runScript, writeShellApp, type ScriptRun } from "../support/qemu-kit/shell-app.ts";
import { runtimeScript } from "../support/runtime-files.ts";
import { describeWith } from "../support/tools.ts";
import { createNetns, run, type IpLink, type Netns } from "./support/netns.ts";

const user = "nobody";
const otherUser = "daemon";
const tap = "vm-alice";
const mac = "fe:54:00:12:34:56";
/** A second guest's tap and MAC, for `attach` with several taps. */
const tap2 = "vm-bob";
const mac2 = "fe:54:00:65:43:21";
const bridge = "br0";

/** `ip -d -j link show` with the fields this test reads beyond {@link IpLink}'s. */
type Link = IpLink & {
  ifindex: number;
  linkinfo?: IpLink["linkinfo"] & { info_data?: { vnet_hdr?: boolean } };
};

describeWith(
  ["ip", "id"],
  "tap.sh in a network namespace",
  () => {
    let dir = "";
    let script = "";
    let ns: Netns;

    beforeAll(() => {
      // The users must exist on this machine; `id` fails the setup clearly otherwise.
      run("id", ["-u", user]);
      run("id", ["-u", otherUser]);
      dir = scratchDir("vmflake-tap-");
      script = writeShellApp(dir, "vmflake-tap", runtimeScript("tap"));
      return () => removeScratchDir(dir);
    });
    beforeEach(() => {
      ns = createNetns("-tap");
    });
    afterEach(() => ns.remove());

    /** Runs the script inside the namespace. */
    const tapSh = (...args: string[]): Promise<ScriptRun> =>
      runScript("ip", ["netns", "exec", ns.name, script, ...args]);

    /** The namespace's interfaces, lo aside, by name. */
    function links(): Map<string, Link> {
      const all = ns.ipJson<Link[]>("-d", "link", "show");
      return new Map(all.filter((l) => l.ifname !== "lo").map((l) => [l.ifname, l]));
    }
    const link = (name: string): Link | undefined => links().get(name);

    /** What "left untouched" compares (a bridge's timers move on their own). */
    function identity(name: string) {
      const l = link(name);
      if (l === undefined) return undefined;
      const kind = l.linkinfo?.info_kind;
      const { ifindex, address, flags, master } = l;
      return {
        ifindex,
        address,
        flags,
        master,
        kind,
        tun: kind === "tun" ? l.linkinfo?.info_data : {},
      };
    }

    it("up creates the tap, owned by the user, vnet_hdr, with the MAC, a port of the bridge, up", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      const r = await tapSh("up", tap, user, mac, bridge);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`created tap ${tap} for user ${user}`);
      const l = link(tap)!;
      expect(l.linkinfo?.info_kind).toBe("tun");
      expect(l.linkinfo?.info_data).toMatchObject({
        type: "tap",
        user,
        vnet_hdr: true,
        persist: true,
      });
      expect(l.address).toBe(mac);
      expect(l.master).toBe(bridge);
      expect(l.flags).toContain("UP");
    });

    it("up again with the tap present reuses it as it is (same ifindex) and succeeds", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      expect((await tapSh("up", tap, user, mac, bridge)).code).toBe(0);
      const before = link(tap)!;
      const again = await tapSh("up", tap, user, mac, bridge);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(`reusing the existing tap ${tap}`);
      const after = link(tap)!;
      expect(after.ifindex).toBe(before.ifindex);
      expect(after).toMatchObject({ address: mac, master: bridge });
      expect(after.flags).toContain("UP");
    });

    it("up on a tap made by hand for the user, down and outside the bridge, completes it in place", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      ns.ip("tuntap", "add", "dev", tap, "mode", "tap", "user", user);
      const before = link(tap)!;
      const r = await tapSh("up", tap, user, mac, bridge);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const after = link(tap)!;
      expect(after.ifindex).toBe(before.ifindex);
      expect(after).toMatchObject({ address: mac, master: bridge });
      expect(after.flags).toContain("UP");
    });

    it("up before the bridge exists: the tap is made and up, and the bridge is left to its unit", async () => {
      const r = await tapSh("up", tap, user, mac, bridge);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        `bridge ${bridge} does not exist yet; its unit attaches ${tap} when it creates it`,
      );
      const l = link(tap)!;
      expect(l.master).toBeUndefined();
      expect(l.flags).toContain("UP");
      expect(link(bridge)).toBeUndefined(); // never creates the bridge itself
      // Once the bridge is there, the next start makes the same tap its port.
      ns.ip("link", "add", bridge, "type", "bridge");
      expect((await tapSh("up", tap, user, mac, bridge)).code).toBe(0);
      expect(link(tap)).toMatchObject({ ifindex: l.ifindex, master: bridge });
    });

    it.each([
      ["another user's tap", ["user", otherUser], /exists with owner uid \d+, not nobody/],
      ["a tap without an owner", [], /exists with no owner, not nobody/],
    ])("refuses %s and leaves it untouched", async (_what, owner, message) => {
      ns.ip("link", "add", bridge, "type", "bridge");
      ns.ip("tuntap", "add", "dev", tap, "mode", "tap", ...owner);
      const before = identity(tap);
      const r = await tapSh("up", tap, user, mac, bridge);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("refusing");
      expect(identity(tap)).toEqual(before);
    });

    it("refuses an interface of that name that is not a tap, and will not delete it either", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      ns.ip("link", "add", tap, "type", "bridge");
      const before = identity(tap);
      const up = await tapSh("up", tap, user, mac, bridge);
      expect(up.code).toBe(1);
      expect(up.stderr).toMatch(new RegExp(`${tap} exists but is not a tap`));
      const down = await tapSh("down", tap);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(new RegExp(`${tap} is not a tap; refusing to delete it`));
      expect(identity(tap)).toEqual(before);
    });

    it("refuses a BRIDGE that exists but is not a bridge", async () => {
      ns.ip("tuntap", "add", "dev", "vm-other", "mode", "tap");
      const r = await tapSh("up", tap, user, mac, "vm-other");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("vm-other exists but is not a bridge");
      expect(link(tap)?.master).toBeUndefined();
    });

    it("refuses a user that does not exist", async () => {
      const r = await tapSh("up", tap, "vmflake-no-such-user", mac, bridge);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("there is no user vmflake-no-such-user");
      expect([...links().keys()]).toEqual([]);
    });

    it("down deletes the tap, and is content when it is already gone", async () => {
      expect((await tapSh("up", tap, user, mac, bridge)).code).toBe(0);
      const down = await tapSh("down", tap);
      expect(down.stderr).toBe("");
      expect(down.code).toBe(0);
      expect(down.stdout).toContain(`deleted tap ${tap}`);
      expect(link(tap)).toBeUndefined();
      const again = await tapSh("down", tap);
      expect(again).toMatchObject({ code: 0, stderr: "" });
      expect(again.stdout).toContain("nothing to delete");
    });

    /** Taps as `up` leaves them when the bridge does not exist yet: made and up, on no bridge. */
    async function tapsWithoutBridge(): Promise<void> {
      for (const [t, m] of [
        [tap, mac],
        [tap2, mac2],
      ] as const) {
        expect((await tapSh("up", t, user, m, bridge)).code).toBe(0);
        expect(link(t)?.master).toBeUndefined();
      }
    }

    it("attach makes every listed tap a port of the bridge and changes nothing else of it", async () => {
      await tapsWithoutBridge();
      const before = [tap, tap2].map(identity);
      ns.ip("link", "add", bridge, "type", "bridge");
      const r = await tapSh("attach", bridge, tap, tap2);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual([
        `vmflake-tap: ${tap} is a port of bridge ${bridge}`,
        `vmflake-tap: ${tap2} is a port of bridge ${bridge}`,
      ]);
      // The same devices, still up, with their owner and MAC: only their master is new.
      expect([tap, tap2].map(identity)).toEqual(
        before.map((b) => ({ ...b, master: bridge, flags: expect.arrayContaining(["UP"]) })),
      );
    });

    it("attach again is a no-op: same devices, same bridge, nothing said", async () => {
      await tapsWithoutBridge();
      ns.ip("link", "add", bridge, "type", "bridge");
      expect((await tapSh("attach", bridge, tap, tap2)).code).toBe(0);
      const before = [tap, tap2].map(identity);
      const again = await tapSh("attach", bridge, tap, tap2);
      expect(again).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect([tap, tap2].map(identity)).toEqual(before);
    });

    it("attach skips a tap that does not exist (its guest's tap unit has not run) and attaches the rest", async () => {
      await tapsWithoutBridge();
      expect((await tapSh("down", tap2)).code).toBe(0);
      ns.ip("link", "add", bridge, "type", "bridge");
      const r = await tapSh("attach", bridge, tap2, tap);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`vmflake-tap: ${tap} is a port of bridge ${bridge}`);
      expect(link(tap)?.master).toBe(bridge);
      // Never creates a missing tap: that is its unit's job, for its guest's user.
      expect([...links().keys()].sort()).toEqual([bridge, tap].sort());
    });

    it("attach leaves alone an interface of a listed name that is not a tap (a tun device)", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      ns.ip("tuntap", "add", "dev", tap, "mode", "tun", "user", user);
      const before = identity(tap);
      const r = await tapSh("attach", bridge, tap);
      expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect(identity(tap)).toEqual(before);
    });

    it("attach with a bridge that does not exist fails (exit 1) and touches no tap", async () => {
      await tapsWithoutBridge();
      const before = [tap, tap2].map(identity);
      const r = await tapSh("attach", bridge, tap, tap2);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`bridge ${bridge} does not exist`);
      expect(r.stdout).toBe("");
      expect([tap, tap2].map(identity)).toEqual(before);
      expect(link(bridge)).toBeUndefined(); // never creates the bridge itself
    });

    it("attach to an interface that is not a bridge fails (exit 1) and adds no tap to it", async () => {
      await tapsWithoutBridge();
      ns.ip("link", "add", "notabridge", "type", "veth", "peer", "name", "notabridge-p");
      const before = [tap, tap2].map(identity);
      const r = await tapSh("attach", "notabridge", tap, tap2);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("notabridge exists but is not a bridge; refusing to add taps");
      expect([tap, tap2].map(identity)).toEqual(before);
      // The same with no tap to attach: the bridge is checked before the taps.
      const none = await tapSh("attach", "notabridge", "vm-missing");
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("notabridge exists but is not a bridge");
    });

    it("bad usage: exit 2 with the usage message, and nothing made", async () => {
      ns.ip("link", "add", bridge, "type", "bridge");
      const calls: string[][] = [
        [],
        ["sideways", tap],
        ["up", tap, user, mac],
        ["up", tap, user, mac, bridge, "extra"],
        ["down"],
        ["down", tap, "extra"],
        ["up", "vm-abcdefghijklm", user, mac, bridge], // 16 characters
        ["up", "-vm", user, mac, bridge],
        ["up", "vm alice", user, mac, bridge],
        ["up", "vm/alice", user, mac, bridge],
        ["up", tap, "No Body", mac, bridge],
        ["up", tap, "x".repeat(33), mac, bridge],
        ["up", tap, user, "fe:54:00:12:34", bridge],
        ["up", tap, user, "FE:54:00:12:34:56", bridge],
        ["up", tap, user, "ff:54:00:12:34:56", bridge], // multicast
        ["up", tap, user, mac, "br 0"],
        ["down", "../eth0"],
        ["attach"],
        ["attach", "br 0", tap],
        ["attach", "-br0", tap],
        ["attach", "br/0", tap],
        ["attach", "b".repeat(16), tap],
        ["attach", bridge, tap, "vm alice"],
        ["attach", bridge, "vm-abcdefghijklm"], // 16 characters
        ["attach", bridge, tap, "../eth0"],
        ["attach", bridge, ""],
      ];
      for (const args of calls) {
        const r = await tapSh(...args);
        expect(r.code, args.join(" ")).toBe(2);
        expect(r.stderr, args.join(" ")).toContain("usage: vmflake-tap up TAP USER MAC BRIDGE");
        expect(r.stderr, args.join(" ")).toContain("vmflake-tap attach BRIDGE TAP...");
      }
      expect([...links().keys()]).toEqual([bridge]);
      // A bad TAP name is refused before any tap is attached, even when others are fine.
      expect((await tapSh("up", tap, user, mac, bridge)).code).toBe(0);
      ns.ip("link", "set", "dev", tap, "nomaster");
      const bad = await tapSh("attach", bridge, tap, "vm/bob");
      expect(bad.code).toBe(2);
      expect(link(tap)?.master).toBeUndefined();
    });
  },
  { root: true },
);
