/**
 * Real NixOS tier: a host with a host-only and a NAT network and guests with several NICs,
 * evaluated by the real NixOS module system with the iptables firewall and with the nftables one
 * (`networking.nftables.enable = true`), down to the toplevel .drv. What NixOS renders is checked
 * with the real tools: the dnsmasq.conf nixpkgs writes is accepted by the Debian-packaged dnsmasq
 * (`--test`), the nftables tables (the firewall's, nat's and the runtime's) load into a fresh
 * network namespace with the real nft, where the forward chain drops what would leave or enter
 * the host-only bridge; with iptables the same rules are in the firewall's commands.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createNetns } from "../network/support/netns.ts";
import { NETWORKS_SPEC } from "../support/networks-spec.ts";
import {
  type BuiltFlake,
  buildFlake,
  describeNixpkgs,
  drvEnv,
  realEval,
  removeBuiltFlakes,
  reportTime,
  writeNixModule,
} from "./support.ts";

interface NetResult {
  readonly drvPath: string;
  readonly units: { readonly [unit: string]: string };
  readonly dnsmasqConfigDrv: string | null;
  readonly nat: { enable: boolean; internalInterfaces: string[]; externalInterface: string };
  readonly nftablesEnabled: boolean;
  readonly firewallExtraCommands: string;
  readonly firewallInterfaces: {
    readonly [i: string]: { allowedTCPPorts: number[]; allowedUDPPorts: number[] };
  };
  readonly nftablesTables: { readonly [t: string]: { family: string; content: string } };
  readonly failedAssertions: readonly string[];
  readonly warnings: readonly string[];
}

type Firewall = "iptables" | "nftables";

describeNixpkgs("real NixOS: host-only and NAT networks with both firewall backends", () => {
  let flake: BuiltFlake;
  const ev: Partial<Record<Firewall, NetResult>> = {};

  beforeAll(async () => {
    flake = await buildFlake(NETWORKS_SPEC);
    const nft = writeNixModule("nftables", "{ networking.nftables.enable = true; }");
    for (const fw of ["iptables", "nftables"] as const) {
      const { result, seconds } = realEval<{ host: NetResult }>({
        flakeDir: flake.dir,
        scenario: "host",
        host: "study",
        extraModules: fw === "nftables" ? [nft] : [],
      });
      reportTime(`host eval, study with networks, ${fw} firewall`, seconds);
      ev[fw] = result.host;
    }
  }, 900_000);
  afterAll(() => removeBuiltFlakes());

  it("evaluates to a toplevel .drv with either firewall, no failed assertion or warning", () => {
    for (const fw of ["iptables", "nftables"] as const) {
      const h = ev[fw]!;
      expect(h.drvPath).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-study-.*\.drv$/);
      expect(h.failedAssertions, fw).toEqual([]);
      expect(h.warnings, fw).toEqual([]);
      expect(h.nftablesEnabled).toBe(fw === "nftables");
      expect(h.nat).toEqual({
        enable: true,
        internalInterfaces: ["vnat0"],
        externalInterface: "vbridge0",
      });
      expect(h.firewallInterfaces.vnat0).toEqual({
        allowedTCPPorts: [53],
        allowedUDPPorts: [53, 67],
      });
      expect(h.units["dnsmasq.service"], fw).toBeDefined();
      for (const u of ["vmflake-tap-vm-alice", "vmflake-tap-vm-alice-1", "vmflake-tap-vm-build"]) {
        expect(h.units[`${u}.service`], `${fw}: ${u}`).toBeDefined();
      }
    }
    expect(ev.iptables!.drvPath).not.toBe(ev.nftables!.drvPath);
  });

  it("dnsmasq.conf as nixpkgs writes it: the NAT bridge only, a static range, the fixed lease with the guest's name; the real dnsmasq accepts it", () => {
    const drv = ev.iptables!.dnsmasqConfigDrv!;
    const conf = drvEnv(drv).text ?? "";
    const lines = conf.split("\n").filter((l) => l !== "");
    expect(lines).toEqual(
      expect.arrayContaining([
        "interface=vnat0",
        "except-interface=lo",
        "bind-dynamic",
        "dhcp-range=10.77.0.0,static,255.255.255.0,12h",
        expect.stringMatching(/^dhcp-host=52:54:00:[0-9a-f:]{8},10\.77\.0\.10,build$/),
        "dhcp-authoritative",
      ]),
    );
    // The host keeps its own resolver.
    expect(conf).not.toMatch(/resolv-file|conf-file/);
    const dir = mkdtempSync(join(tmpdir(), "vmflake-dnsmasq-"));
    try {
      // Only where the leases go changes: /var/lib/dnsmasq is the service's.
      expect(conf).toMatch(/^dhcp-leasefile=\/var\/lib\/dnsmasq\/dnsmasq.leases$/m);
      writeFileSync(
        join(dir, "dnsmasq.conf"),
        conf.replace(/^dhcp-leasefile=.*$/m, `dhcp-leasefile=${dir}/leases`),
      );
      const r = spawnSync("dnsmasq", ["--test", "-C", join(dir, "dnsmasq.conf")], {
        encoding: "utf8",
      });
      expect(r.status, r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("iptables: the firewall's commands drop what is forwarded from or to the host-only bridge, and masquerade the NAT bridge out of the LAN bridge", () => {
    const cmds = ev.iptables!.firewallExtraCommands;
    expect(cmds).toContain("iptables -w -I FORWARD -i vlab0 ! -o vlab0 -j DROP");
    expect(cmds).toContain("iptables -w -I FORWARD -o vlab0 ! -i vlab0 -j DROP");
    expect(cmds).toMatch(/-A nixos-nat-pre \\\n\s*-i 'vnat0' -j MARK --set-mark 1/);
    expect(cmds).toMatch(/-A nixos-nat-post -m mark --mark 1 \\\n\s*-o vbridge0 -j MASQUERADE/);
    expect(Object.keys(ev.iptables!.nftablesTables)).toEqual([]);
  });

  it("nftables: the firewall's, nat's and the runtime's tables load with the real nft, and the forward chain drops host-only traffic", () => {
    const tables = ev.nftables!.nftablesTables;
    expect(ev.nftables!.firewallExtraCommands).toBe("");
    expect(tables["vmflake-host-only"]).toBeDefined();
    const ruleset = Object.entries(tables)
      .map(([name, t]) => `table ${t.family} ${name} {\n${t.content}\n}\n`)
      .join("\n");
    const ns = createNetns("-nft");
    try {
      const r = spawnSync("ip", ["netns", "exec", ns.name, "nft", "-f", "-"], {
        input: ruleset,
        encoding: "utf8",
      });
      expect(r.status, `${r.stderr}\n${ruleset}`).toBe(0);
      const list = spawnSync(
        "ip",
        ["netns", "exec", ns.name, "nft", "list", "table", "inet", "vmflake-host-only"],
        { encoding: "utf8" },
      );
      expect(list.stdout).toMatch(/iifname "vlab0" oifname != "vlab0" drop/);
      expect(list.stdout).toMatch(/oifname "vlab0" iifname != "vlab0" drop/);
      expect(list.stdout).toMatch(/type filter hook forward priority filter; policy accept;/);
      // nat's table masquerades what comes from the NAT bridge out of the LAN bridge.
      const all = spawnSync("ip", ["netns", "exec", ns.name, "nft", "list", "ruleset"], {
        encoding: "utf8",
      }).stdout;
      expect(all).toMatch(/masquerade/);
      expect(all).toMatch(/vnat0/);
      expect(all).toMatch(/vbridge0/);
    } finally {
      ns.remove();
    }
  });
});
