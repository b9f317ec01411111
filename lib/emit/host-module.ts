/**
 * `modules/<host>.nix`: the NixOS module a host imports. Per guest: a system user, a tap owned
 * by it on the LAN bridge, `qemu-guest-<name>.service` running QEMU, and
 * `qemu-guest-<name>-install.service`, the first install (see shared/reference/qemu-on-nixos.md
 * §2–7 for the reasons behind each setting). The flake hands the module the host's installer ISO
 * as the module argument `vmflakeInstaller`.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding, NixFile, NixValue } from "../../dsl/index.ts";
import type { ResolvedGuest, ResolvedHost } from "../model.ts";
import { netDeviceUnit } from "../names.ts";
import {
  installGuestScript,
  installGuestScriptInputs,
  installKillAfterSeconds,
  installUnitMarginSeconds,
} from "../runtime/install-guest-script.ts";
import { installToken } from "../runtime/install-protocol.ts";
import { installQemuArgs } from "../runtime/install-qemu-args.ts";
import { prepareDiskScript, prepareDiskScriptInputs } from "../runtime/prepare-disk-script.ts";
import { qemuArgs } from "../runtime/qemu-args.ts";
import { stopScript, stopScriptInputs } from "../runtime/stop-script.ts";
import { generatedHeader } from "./header.ts";
import { installerIsoFile } from "./installer.ts";
import { shellLines, shellWord } from "./shell.ts";

const { lib, pkgs } = n;

/** Extra seconds systemd waits beyond the stop script's own deadline before it kills QEMU. */
const STOP_MARGIN = 30;

/** The sandbox of a guest's QEMU, for its guest unit and its install unit alike. */
const hardening = {
  DevicePolicy: "closed",
  DeviceAllow: ["/dev/kvm rw", "/dev/net/tun rw", "/dev/vhost-net rw"],
  NoNewPrivileges: true,
  ProtectSystem: "strict",
  ProtectHome: true,
  PrivateTmp: true,
  ProtectKernelTunables: true,
  ProtectKernelModules: true,
  ProtectKernelLogs: true,
  ProtectControlGroups: true,
  ProtectClock: true,
  ProtectHostname: true,
  RestrictSUIDSGID: true,
  RestrictRealtime: true,
  RestrictNamespaces: true,
  LockPersonality: true,
  RestrictAddressFamilies: ["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"],
  CapabilityBoundingSet: "",
  UMask: "0027",
} as const satisfies { [key: string]: NixValue };

/** The let binding that holds {@link hardening} in the emitted module. */
const SANDBOX = "guestSandbox";

/** `guestSandbox // { … }`: a unit's own settings on top of the shared sandbox. */
function sandboxed(own: { [key: string]: NixValue }): n.NixExpr {
  return n.op(n.v(SANDBOX), "//", own);
}

/** The module argument that carries the host's installer ISO (set by the flake). */
export const INSTALLER_ARG = "vmflakeInstaller";

export function hostModuleFile(host: ResolvedHost, source: string): NixFile {
  const scripts = [
    n.bind("stopGuest", app("vmflake-stop-guest", stopScriptInputs, stopScript), {
      comment: [
        "Stops a guest synchronously: ACPI power button over QMP (pressed again each second),",
        "wait for QEMU to exit, then QMP quit, which closes the image cleanly.",
      ],
    }),
    n.bind("prepareDisk", app("vmflake-prepare-disk", prepareDiskScriptInputs, prepareDiskScript), {
      comment: "Grows a guest's image to its declared size before QEMU starts; never shrinks.",
    }),
  ];
  if (host.guests.length > 0) {
    scripts.push(
      n.bind(SANDBOX, hardening, {
        comment: [
          "The systemd sandbox of every guest's QEMU (and of its first install); see",
          "systemd.exec(5). QEMU adds its own seccomp filter (-sandbox).",
        ],
      }),
    );
  }
  if (host.guests.length > 0) {
    scripts.push(
      n.bind(
        "installGuest",
        app("vmflake-install-guest", installGuestScriptInputs, installGuestScript),
        {
          comment: [
            "A guest's first install: boots the installer ISO with a read-only seed drive under a",
            "timeout and publishes the image only on the installer's INSTALL_OK <nonce>.",
          ],
        },
      ),
    );
  }
  if (host.guests.some((g) => !g.install.offline)) {
    scripts.push(
      n.bind("flakeSource", flakeSource(), {
        comment: [
          "This flake's own files, which network installs hand to the installer on the seed",
          "drive: it installs nixosConfigurations.<guest> from them with nixos-install --flake.",
        ],
      }),
    );
  }
  const body: NixBinding[] = [
    n.bind(["boot", "kernelModules"], ["tun", "vhost_net"], {
      comment: "Taps and vhost-net, loaded at boot: the sandboxed guests cannot load modules.",
    }),
    ...bridge(host),
    ...host.guests.flatMap((g) => guest(host, g)),
  ];
  return {
    comment: generatedHeader(source, `host ${host.name}`),
    body: n.module(
      ["lib", "pkgs", ...(host.guests.length > 0 ? [INSTALLER_ARG] : [])],
      n.let_(scripts, n.attrs(body)),
    ),
  };
}

function app(name: string, inputs: readonly string[], text: string): n.NixExpr {
  return pkgs.writeShellApplication({
    name,
    runtimeInputs: inputs.map((i) => n.select(pkgs, i)),
    text,
  });
}

function bridge(host: ResolvedHost): NixBinding[] {
  const { nic, bridge: br, address, bridgeMac } = host.lan;
  const out: NixBinding[] = [
    n.bind(["networking", "bridges", br, "interfaces"], [nic, ...host.guests.map((g) => g.tap)], {
      comment: [
        "The NIC and every guest's tap are ports of the bridge, and the host's address moves to",
        "the bridge. Applying this over ssh through that NIC cuts the connection: use a console,",
        "or `nixos-rebuild test` with a way back. Each tap gets a high MAC (fe:…, as libvirt does):",
        "a bridge takes the lowest MAC of its ports, so it keeps the NIC's and the DHCP lease.",
      ],
    }),
    n.bind(["networking", "interfaces", nic, "useDHCP"], false),
  ];
  if (address === "dhcp") {
    out.push(n.bind(["networking", "interfaces", br, "useDHCP"], true));
  } else {
    out.push(
      n.bind(
        ["networking", "interfaces", br, "ipv4", "addresses"],
        address.addresses.map((a) => ({ address: a.address, prefixLength: a.prefixLength })),
      ),
      n.bind(["networking", "defaultGateway"], { address: address.gateway, interface: br }),
    );
    if (address.dns.length > 0) out.push(n.bind(["networking", "nameservers"], [...address.dns]));
  }
  if (bridgeMac !== undefined) {
    out.push(
      n.bind(["networking", "interfaces", br, "macAddress"], bridgeMac, {
        comment: "Fixed, so the host's DHCP reservation survives the move to the bridge.",
      }),
    );
  }
  if (host.lan.bypassHostFirewall) {
    out.push(
      n.bind(
        ["boot", "kernel", "sysctl"],
        {
          "net.bridge.bridge-nf-call-iptables": 0,
          "net.bridge.bridge-nf-call-ip6tables": 0,
          "net.bridge.bridge-nf-call-arptables": 0,
        },
        {
          comment: [
            "Keep bridged guest traffic out of iptables: with br_netfilter loaded (Docker loads it)",
            "and a FORWARD DROP policy, it is silently dropped. systemd applies these when the",
            "module loads; Docker sets them back to 1, see the README.",
          ],
        },
      ),
    );
  }
  return out;
}

/** The tap's own MAC: the guest's with the first byte 0xfe (unicast, locally administered). */
function tapMac(guestMac: string): string {
  return `fe${guestMac.slice(2)}`;
}

function guest(host: ResolvedHost, g: ResolvedGuest): NixBinding[] {
  const tapUnit = `${g.tap}-netdev.service`;
  const tapDevice = netDeviceUnit(g.tap);
  const installUnit = `${g.install.unit}.service`;
  const args = qemuArgs({
    name: g.name,
    cpus: g.cpus,
    memoryMiB: g.memoryMiB,
    imagePath: g.imagePath,
    diskSerial: g.diskSerial,
    qmpSocket: g.qmpSocket,
    serialLog: g.serialLog,
    ...(g.vnc ? { vnc: g.vnc } : {}),
    net: { tap: g.tap, mac: g.mac },
  });
  const script = n.nix`exec ${lib.getExe(pkgs.qemu_kvm)} \\\n  ${shellLines(args).join(" \\\n  ")}\n`;
  const service: { [key: string]: NixValue } = {
    description: `QEMU guest ${g.name}`,
    ...(g.autostart ? { wantedBy: ["multi-user.target"] } : {}),
    // The tap's device unit exists with both network backends; its -netdev.service only with the
    // scripted one, where it is the unit that deletes the tap, so the guest is part of it.
    bindsTo: [tapDevice],
    // Pulls the tap's unit in again after it was stopped (scripted backend; no-op with networkd).
    wants: [tapUnit],
    // The first install runs before, and only while the image is missing (a skipped condition
    // satisfies Requires=; BindsTo= would stop the guest, systemd.unit(5)).
    requires: [installUnit],
    after: ["network.target", tapDevice, tapUnit, `${host.lan.bridge}-netdev.service`, installUnit],
    partOf: [tapUnit],
    restartIfChanged: false,
    startLimitIntervalSec: 300,
    startLimitBurst: 3,
    serviceConfig: sandboxed({
      Type: "exec",
      User: g.user,
      Group: g.user,
      StateDirectory: g.stateDirectory,
      StateDirectoryMode: "0750",
      RuntimeDirectory: g.runtimeDirectory,
      RuntimeDirectoryMode: "0750",
      ExecStartPre: n.nix`${lib.getExe(n.v("prepareDisk"))} ${g.imagePath} ${g.diskBytes.toString()}`,
      ExecStop: n.nix`${lib.getExe(n.v("stopGuest"))} ${g.qmpSocket} ${String(g.shutdownTimeout)}`,
      TimeoutStopSec: g.shutdownTimeout + STOP_MARGIN,
      Restart: "on-failure",
      RestartSec: 10,
    }),
    script,
  };
  return [
    n.bind(
      ["users", "users", g.user],
      { isSystemUser: true, group: g.user, extraGroups: ["kvm"] },
      {
        comment: `Guest ${g.name}: QEMU runs as this user, which owns the tap, the image and the QMP socket.`,
      },
    ),
    n.bind(["users", "groups", g.user], {}),
    n.bind(["networking", "interfaces", g.tap], {
      virtual: true,
      virtualType: "tap",
      virtualOwner: g.user,
      macAddress: tapMac(g.mac),
    }),
    n.bind(["systemd", "services", g.unit], service),
    n.bind(["systemd", "services", g.install.unit], installService(host, g), {
      comment: [
        `The first install of ${g.name}: runs only while its image is missing. On failure the log`,
        `${g.install.log} stays and the next start of the guest tries again.`,
      ],
    }),
  ];
}

/** `qemu-guest-<name>-install.service`: boots the installer ISO to create the guest's image. */
function installService(host: ResolvedHost, g: ResolvedGuest): { [key: string]: NixValue } {
  const network = !g.install.offline;
  const tapDevice = netDeviceUnit(g.tap);
  const qemu = installQemuArgs({
    name: g.name,
    cpus: g.cpus,
    memoryMiB: g.install.memoryMiB,
    workDir: g.install.workDir,
    diskSerial: g.diskSerial,
    log: g.install.log,
    ...(g.vnc ? { vnc: g.vnc } : {}),
    ...(network ? { net: { tap: g.tap, mac: g.mac } } : {}),
  });
  const options: [string, string | (string | n.NixExpr)[]][] = [
    ["--host", host.name],
    ["--guest", g.name],
    ["--image", g.imagePath],
    ["--disk-bytes", g.diskBytes.toString()],
    ["--disk-serial", g.diskSerial],
    ["--work", g.install.workDir],
    ["--log", g.install.log],
    ["--timeout", String(g.install.timeoutSeconds)],
    ["--token", installToken(host.name)],
    ["--iso", [n.v(INSTALLER_ARG), `/${installerIsoFile(host.name)}`]],
    ...(network ? [["--flake", [n.v("flakeSource")]] as [string, n.NixExpr[]]] : []),
  ];
  // One option per line, as in the guest unit; store paths are interpolated, the rest quoted.
  const parts: (string | n.NixExpr)[] = ["exec ", lib.getExe(n.v("installGuest"))];
  for (const [flag, value] of options) {
    parts.push(` \\\n  ${flag} `);
    if (typeof value === "string") parts.push(shellWord(value));
    else parts.push(...value);
  }
  parts.push(" \\\n  -- \\\n  ", lib.getExe(pkgs.qemu_kvm));
  for (const line of shellLines(qemu)) parts.push(` \\\n  ${line}`);
  parts.push("\n");
  return {
    description: `First install of QEMU guest ${g.name}`,
    ...(network
      ? {
          bindsTo: [tapDevice],
          wants: [`${g.tap}-netdev.service`],
          after: [
            "network.target",
            tapDevice,
            `${g.tap}-netdev.service`,
            `${host.lan.bridge}-netdev.service`,
          ],
        }
      : {}),
    unitConfig: { ConditionPathExists: `!${g.imagePath}` },
    // A host rebuild must not restart (and so abort) an install in progress.
    restartIfChanged: false,
    serviceConfig: sandboxed({
      Type: "oneshot",
      User: g.user,
      Group: g.user,
      StateDirectory: g.stateDirectory,
      StateDirectoryMode: "0750",
      TimeoutStartSec:
        g.install.timeoutSeconds + installKillAfterSeconds + installUnitMarginSeconds,
    }),
    script: n.concat(parts),
  };
}

/**
 * This flake's own files: flake.nix, flake.lock (when there is one) and modules/, copied from the
 * flake's directory by `builtins.path` with a filter (lib.fileset would read better, but needs
 * `builtins.readFileType`, which Nix before 2.14 lacks).
 */
function flakeSource(): n.NixExpr {
  const root = n.path("../.");
  const name = n.v("name");
  return n.builtins.path({
    name: "vmflake-flake",
    path: root,
    filter: n.lambda(
      "path",
      n.lambda(
        "_type",
        n.let_(
          [n.bind("name", lib.removePrefix(n.nix`${n.builtins.toString(root)}/`, n.v("path")))],
          n.op(
            n.builtins.elem(name, ["flake.nix", "flake.lock", "modules"]),
            "||",
            lib.hasPrefix("modules/", name),
          ),
        ),
      ),
    ),
  });
}
