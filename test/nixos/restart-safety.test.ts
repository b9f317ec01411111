/**
 * A host rebuild never takes a running guest down. Two generations of the example host are
 * rendered by the real NixOS module system, the second as a nixpkgs bump makes it (an overlay
 * that changes iproute2, which most units' store paths depend on; and one that changes only
 * QEMU), with both network backends. switch-to-configuration's decisions are computed from the
 * two generations' unit texts (test/nixos/switch-plan.ts, a model of nixpkgs'
 * switch-to-configuration-ng), and from each guest unit the dependencies along which systemd
 * propagates a stop or restart (Requires=, Requisite=, BindsTo=, PartOf=, …) are followed: none of
 * the units reached may be one the switch stops or restarts. The bridge's unit is bound to no tap
 * (the taps are no listed ports), so nothing propagates between it and the taps' units. A variant
 * host with the old shape's dependencies (a guest part of NixOS's own `<tap>-netdev.service`, or
 * of the bridge's unit, which NixOS binds to the taps it lists as ports) shows the check catches
 * them.
 *
 * The model itself is tested first, on small unit texts, without nixpkgs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { netDeviceUnit } from "../../lib/names.ts";
import {
  compareUnits,
  describeTakenDown,
  parseUnit,
  planSwitch,
  reachFrom,
  takenDownWith,
  unitList,
} from "./switch-plan.ts";
import {
  type BuiltFlake,
  buildFlake,
  describeNixpkgs,
  realEval,
  removeBuiltFlakes,
  reportTime,
  writeNixModule,
} from "./support.ts";

type Units = { readonly [unit: string]: string };

const unit = (sections: { [section: string]: readonly string[] }): string =>
  Object.entries(sections)
    .map(([s, lines]) => `[${s}]\n${lines.join("\n")}\n`)
    .join("\n");

describe("switch-plan: the model of switch-to-configuration on small units", () => {
  const svc = (exec: string, unitLines: readonly string[] = [], service: readonly string[] = []) =>
    unit({ Unit: unitLines, Service: [`ExecStart=${exec}`, ...service] });

  it("compares units as switch-to-configuration does", () => {
    const a = parseUnit(svc("/a", ["Description=one"]));
    expect(compareUnits(a, parseUnit(svc("/a", ["Description=two"])))).toBe("equal");
    expect(compareUnits(a, parseUnit(svc("/b", ["Description=one"])))).toBe("restart");
    expect(compareUnits(a, parseUnit(svc("/a", ["Description=one", "After=x.service"])))).toBe(
      "restart",
    );
    expect(compareUnits(a, parseUnit(svc("/a", ["Description=one"], ["ExecReload=/r"])))).toBe(
      "reload",
    );
    expect(compareUnits(a, parseUnit(svc("/a", ["Description=one", "X-Reload-Triggers=1"])))).toBe(
      "reload",
    );
    // [Install] is not compared; an empty value clears the earlier ones.
    expect(
      compareUnits(a, parseUnit(`${svc("/a", ["Description=one"])}[Install]\nWantedBy=x\n`)),
    ).toBe("equal");
    expect(
      parseUnit("[Service]\nDeviceAllow=a\nDeviceAllow=\nDeviceAllow=b\n").get("Service"),
    ).toEqual(new Map([["DeviceAllow", ["b"]]]));
  });

  it("restarts, stops, reloads or skips a changed unit by its X-…IfChanged settings", () => {
    const old: Units = {
      "plain.service": svc("/1"),
      "restart.service": svc("/1", [], ["X-StopIfChanged=false"]),
      "reload.service": svc("/1", [], ["X-ReloadIfChanged=true"]),
      "skip.service": svc("/1", [], ["X-RestartIfChanged=false"]),
      "same.service": svc("/1"),
      "gone.service": svc("/1"),
      "kept.service": svc("/1", ["X-StopOnRemoval=false"]),
      "keys.target": unit({ Unit: ["X-StopOnReconfiguration=true"] }),
      "network.target": unit({ Unit: ["Description=Network"] }),
      "multi-user.target": unit({ Unit: ["Description=Multi-User"] }),
      "sysinit-reactivation.target": unit({ Unit: [] }),
      "web.service": svc("/1"),
      "web.socket": unit({ Socket: ["ListenStream=80"] }),
    };
    const next: Units = {
      ...Object.fromEntries(
        Object.entries(old).filter(([u]) => u !== "gone.service" && u !== "kept.service"),
      ),
      "plain.service": svc("/2"),
      "restart.service": svc("/2", [], ["X-StopIfChanged=false"]),
      "reload.service": svc("/2", [], ["X-ReloadIfChanged=true"]),
      "skip.service": svc("/2", [], ["X-RestartIfChanged=false"]),
      "web.service": svc("/2"),
    };
    const plan = Object.fromEntries([...planSwitch(old, next)].map(([u, s]) => [u, s.action]));
    expect(plan).toEqual({
      "plain.service": "stop",
      "restart.service": "restart",
      "reload.service": "reload",
      "skip.service": "skip",
      "gone.service": "stop",
      "keys.target": "stop",
      "network.target": "start",
      "sysinit-reactivation.target": "restart",
      "web.service": "stop",
      "web.socket": "stop",
    });
  });

  it("follows stop-propagating dependencies, in both generations, and catches what goes down", () => {
    const guest = (deps: readonly string[]) =>
      unit({ Unit: deps, Service: ["ExecStart=/qemu", "X-RestartIfChanged=false"] });
    const old: Units = {
      "guest.service": guest(["Requires=mid.service", "After=net.service"]),
      "mid.service": svc("/m", ["BindsTo=low.service"], ["X-RestartIfChanged=false"]),
      "low.service": svc("/1"),
      "net.service": svc("/1"),
      "pusher.service": svc("/1", ["PropagatesStopTo=mid.service"]),
      "reloaded.service": svc("/1", [], ["X-ReloadIfChanged=true"]),
    };
    const next: Units = {
      ...old,
      "guest.service": guest(["Requires=mid.service", "PartOf=reloaded.service"]),
      "low.service": svc("/2"),
      "net.service": svc("/2"),
      "pusher.service": svc("/2", ["PropagatesStopTo=mid.service"]),
      "reloaded.service": svc("/2", [], ["X-ReloadIfChanged=true"]),
    };
    expect(
      reachFrom("guest.service", [old, next])
        .map((r) => r.unit)
        .sort(),
    ).toEqual([
      "guest.service",
      "low.service",
      "mid.service",
      "pusher.service",
      "reloaded.service",
    ]);
    // After= only orders; a reloaded unit does not take its PartOf= dependents down.
    expect(takenDownWith("guest.service", old, next).map(describeTakenDown)).toEqual([
      "guest.service -Requires-> mid.service -BindsTo-> low.service: stop (changed: stopped with the old unit, then started)",
      "guest.service -Requires-> mid.service <-PropagatesStopTo- pusher.service: stop (changed: stopped with the old unit, then started)",
    ]);
  });
});

interface UnitsEval {
  readonly units: Units;
}

type Backend = "scripted" | "networkd";

/** The overlay module of a nixpkgs bump that changes `packages` (their derivations, not their code). */
function bumpModule(name: string, packages: readonly string[]): string {
  const lines = packages.map(
    (p) =>
      `      ${p} = prev.${p}.overrideAttrs (o: { postPatch = (o.postPatch or "") + "\\n# bump\\n"; });`,
  );
  return writeNixModule(
    `bump-${name}`,
    [
      "{",
      "  nixpkgs.overlays = [",
      "    (final: prev: {",
      ...lines,
      "    })",
      "  ];",
      "}",
      "",
    ].join("\n"),
  );
}

/**
 * The OLD shape's taps: NixOS's own `tap0-netdev.service` (networking.interfaces.<tap>.virtual),
 * with alice's guest bound to the tap's device and part of that unit, as vmflake emitted before
 * the runtime had tap units of its own; and both taps listed as the bridge's ports, as vmflake
 * emitted before the taps' units attached them. Bob's guest is made part of the bridge's unit,
 * which NixOS then binds to every listed tap (tap0's unit, tap1's device).
 */
const OLD_SHAPE = `{
  networking.bridges.vbridge0.interfaces = [ "tap0" "tap1" ];
  networking.interfaces.tap0 = {
    virtual = true;
    virtualType = "tap";
    virtualOwner = "vm-alice";
  };
  systemd.services.qemu-guest-alice = {
    bindsTo = [ "sys-subsystem-net-devices-tap0.device" ];
    partOf = [ "tap0-netdev.service" ];
  };
  systemd.services.qemu-guest-bob.partOf = [ "vbridge0-netdev.service" ];
}
`;

const GUESTS = [
  { name: "alice", tap: "tap0" },
  { name: "bob", tap: "tap1" },
] as const;

afterAll(removeBuiltFlakes);

describeNixpkgs("real NixOS: a host rebuild never takes a running guest down", () => {
  let flake: BuiltFlake;
  // generation → backend → rendered units
  const gen: { [generation: string]: { [backend: string]: Units } } = {};

  function units(backend: Backend, generation: string, extraModules: readonly string[]): Units {
    const { result, seconds } = realEval<UnitsEval>({
      scenario: "units",
      flakeDir: flake.dir,
      host: "study",
      networkd: backend === "networkd",
      extraModules,
    });
    reportTime(`host units, study, ${backend}, ${generation}`, seconds);
    return result.units;
  }

  beforeAll(async () => {
    flake = await buildFlake("example");
    const iproute2 = bumpModule("iproute2", ["iproute2"]);
    const qemu = bumpModule("qemu", ["qemu"]);
    const old = writeNixModule("old-shape", OLD_SHAPE);
    for (const [g, mods] of [
      ["base", []],
      ["iproute2", [iproute2]],
      ["qemu", [qemu]],
    ] as const) {
      gen[g] = {};
      for (const b of ["scripted", "networkd"] as const) gen[g][b] = units(b, g, mods);
    }
    gen["old-shape"] = { scripted: units("scripted", "old-shape", [old]) };
    gen["old-shape+iproute2"] = {
      scripted: units("scripted", "old-shape+iproute2", [old, iproute2]),
    };
  }, 3_600_000);

  const changed = (a: Units, b: Units) => Object.keys(a).filter((u) => b[u] !== a[u]);

  for (const backend of ["scripted", "networkd"] as const) {
    for (const bump of ["iproute2", "qemu"] as const) {
      it(`${backend}, ${bump} bump: no guest depends on a unit the switch stops or restarts`, () => {
        const old = gen.base![backend]!;
        const next = gen[bump]![backend]!;
        const plan = planSwitch(old, next);
        for (const g of GUESTS) {
          const guest = `qemu-guest-${g.name}.service`;
          // The guest's text changes (QEMU's store path, with iproute2 among its inputs in
          // nixpkgs today; with a QEMU bump always): the switch leaves it running.
          if (bump === "qemu") expect(next[guest], guest).not.toBe(old[guest]);
          if (next[guest] !== old[guest])
            expect(plan.get(guest), guest).toEqual({
              action: "skip",
              why: expect.stringContaining("X-RestartIfChanged=false"),
            });
          // Everything it needs, and nothing else: its tap's unit and its install.
          expect(
            reachFrom(guest, [old, next])
              .map((r) => r.unit)
              .sort(),
          ).toEqual(
            [guest, `qemu-guest-${g.name}-install.service`, `vmflake-tap-${g.tap}.service`].sort(),
          );
          expect(takenDownWith(guest, old, next).map(describeTakenDown), guest).toEqual([]);
        }
      });
    }

    it(`${backend}: the iproute2 bump is a real one (NixOS's own units change, some are restarted or stopped)`, () => {
      const old = gen.base![backend]!;
      const next = gen.iproute2![backend]!;
      const runtime = (u: string) => u.startsWith("qemu-guest-") || u.startsWith("vmflake-tap-");
      expect(changed(old, next).filter((u) => !runtime(u)).length).toBeGreaterThan(0);
      const plan = planSwitch(old, next);
      const down = [...plan]
        .filter(([, s]) => s.action === "stop" || s.action === "restart")
        .map(([u]) => u);
      expect(down.filter((u) => u.endsWith(".service")).length).toBeGreaterThan(0);
      // The scripted backend's address units run iproute2's ip and are restarted.
      if (backend === "scripted") expect(down).toContain("network-addresses-vbridge0.service");
      // The taps' units change too (vmflake-tap runs iproute2's ip) and are left alone.
      for (const g of GUESTS) {
        const tap = `vmflake-tap-${g.tap}.service`;
        expect(next[tap]).not.toBe(old[tap]);
        expect(plan.get(tap)?.action).toBe("skip");
      }
    });
  }

  it("scripted, QEMU bump: the guests' and their installs' units change, any other unit is only reloaded", () => {
    const old = gen.base!.scripted!;
    const next = gen.qemu!.scripted!;
    const guestUnits = GUESTS.flatMap((g) => [
      `qemu-guest-${g.name}-install.service`,
      `qemu-guest-${g.name}.service`,
    ]);
    const units = changed(old, next);
    expect(units).toEqual(expect.arrayContaining(guestUnits));
    // The host command `vms` is in the system path and runs QEMU's qemu-img, so the bump changes
    // the path, and units that read it (D-Bus) are reloaded: never stopped nor restarted.
    const plan = planSwitch(old, next);
    for (const u of units.filter((u) => !guestUnits.includes(u))) {
      expect(plan.get(u)?.action, u).toBe("reload");
    }
  });

  it("the check bites: the old shape's guests, part of NixOS's tap0-netdev.service or of the bridge, are caught", () => {
    const old = gen["old-shape"]!.scripted!;
    const next = gen["old-shape+iproute2"]!.scripted!;
    expect(old["tap0-netdev.service"]).toBeDefined();
    expect(takenDownWith("qemu-guest-alice.service", old, next).map(describeTakenDown)).toEqual([
      "qemu-guest-alice.service -PartOf-> tap0-netdev.service: stop (changed: stopped with the old unit, then started)",
    ]);
    // The device unit it is bound to is no unit NixOS renders (the kernel's device): the check
    // names it as reached, and the unit whose stop deletes the tap is the one caught.
    expect(reachFrom("qemu-guest-alice.service", [old, next]).map((r) => r.unit)).toContain(
      "sys-subsystem-net-devices-tap0.device",
    );
    // Part of the bridge's unit, which is reloaded, not restarted, but bound to the tap's unit.
    expect(planSwitch(old, next).get("vbridge0-netdev.service")?.action).toBe("reload");
    expect(takenDownWith("qemu-guest-bob.service", old, next).map(describeTakenDown)).toEqual([
      "qemu-guest-bob.service -PartOf-> vbridge0-netdev.service -BindsTo-> tap0-netdev.service: stop (changed: stopped with the old unit, then started)",
    ]);
  });

  it("scripted: the bridge's unit is bound to the NIC's device alone; the taps' units only want and follow the bridge", () => {
    for (const generation of ["base", "iproute2", "qemu"] as const) {
      const units = gen[generation]!.scripted!;
      const bridge = parseUnit(units["vbridge0-netdev.service"]!);
      // With listed taps it was bound to every tap's device: one missing tap stopped it, and
      // with it the host's address.
      expect(unitList(bridge, "BindsTo"), generation).toEqual([netDeviceUnit("enp0s31f6")]);
      // What would take the bridge down: the NIC and NixOS's own targets, never a tap or a guest.
      const reached = reachFrom("vbridge0-netdev.service", [units]).map((r) => r.unit);
      expect(reached, generation).toContain(netDeviceUnit("enp0s31f6"));
      expect(
        reached.filter((u) => u.startsWith("qemu-guest-") || GUESTS.some((g) => u.includes(g.tap))),
        generation,
      ).toEqual([]);
      for (const g of GUESTS) {
        const tap = `vmflake-tap-${g.tap}.service`;
        const t = parseUnit(units[tap]!);
        expect(unitList(t, "Wants"), tap).toEqual([netDeviceUnit("vbridge0")]);
        expect(unitList(t, "After"), tap).toEqual(
          expect.arrayContaining([netDeviceUnit("vbridge0"), "vbridge0-netdev.service"]),
        );
        // Wants= and After= propagate no stop: the bridge going down leaves the tap (and the
        // guest on it) alone, and nothing of the bridge's is reached from the guest.
        expect(reachFrom(tap, [units]).map((r) => r.unit)).toEqual([tap]);
        for (const u of reachFrom(`qemu-guest-${g.name}.service`, [units]).map((r) => r.unit)) {
          expect(u).not.toMatch(/vbridge0|enp0s31f6/);
        }
      }
    }
  });

  it("scripted, iproute2 bump: the bridge's unit is reloaded, not restarted (a start makes the bridge anew)", () => {
    const old = gen.base!.scripted!;
    const next = gen.iproute2!.scripted!;
    // Its ExecStartPost names the tap program, which changes with iproute2.
    expect(next["vbridge0-netdev.service"]).not.toBe(old["vbridge0-netdev.service"]);
    expect(planSwitch(old, next).get("vbridge0-netdev.service")).toEqual({
      action: "reload",
      why: "changed, X-ReloadIfChanged=true",
    });
  });

  it("with the runtime's taps, even a guest part of the bridge's unit would stay up (a reload does not propagate)", () => {
    const old = gen.base!.scripted!;
    const next = gen.iproute2!.scripted!;
    expect(planSwitch(old, next).get("vbridge0-netdev.service")?.action).toBe("reload");
    expect(takenDownWith("vbridge0-netdev.service", old, next).map(describeTakenDown)).toEqual([]);
  });
});
