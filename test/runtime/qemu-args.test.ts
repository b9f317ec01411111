/**
 * The runtime's one QEMU command-line builder (lib/runtime/nixos/qemu.nix), evaluated by real Nix:
 * the guest's arguments (`guest g`) and its installer VM's (`install g`), what each flag says,
 * that both machines share every machine flag, and that values QEMU would split or cut are refused
 * instead of becoming a different command line. Numbers are checked by the module's option types
 * (lib/runtime/nixos/default.nix), so those refusals are shown through a module evaluation.
 */
import fc from "fast-check";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { evalJson, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import {
  builderError,
  guestQemuArgs,
  installQemuArgs,
  qemuGuest,
  type QemuGuest,
} from "../support/qemu-args.ts";
import { describeWith } from "../support/tools.ts";

const base: QemuGuest = qemuGuest({
  name: "alice",
  cpus: 2,
  memoryMiB: 1536,
  image: "/var/lib/qemu-guests/alice/disk.qcow2",
  diskSerial: "alice-root",
  qmpSocket: "/run/qemu-guests/alice/qmp.sock",
  consoleLog: "/var/lib/qemu-guests/alice/console.log",
  consoleSocket: "/run/qemu-guests/alice/console.sock",
  vnc: null,
  tap: "vm-alice",
  mac: "52:54:00:ab:cd:ef",
  install: {
    offline: false,
    memoryMiB: 3072,
    workDir: "/var/lib/qemu-guests/alice/install.tmp",
    log: "/var/lib/qemu-guests/alice/install.log",
  },
});
const withVnc: QemuGuest = { ...base, vnc: { address: "127.0.0.1", display: 3 } };
const offline: QemuGuest = { ...base, install: { ...base.install, offline: true } };
const examples = [base, withVnc, offline] as const;

/** The argument list as [flag, value] pairs; a flag without a value gets `undefined`. */
function pairs(args: readonly string[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    expect(flag.startsWith("-"), `${flag} at ${i} should be a flag`).toBe(true);
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      out.push([flag, next]);
      i++;
    } else out.push([flag, undefined]);
  }
  return out;
}

const values = (args: readonly string[], flag: string): string[] =>
  pairs(args)
    .filter(([f]) => f === flag)
    .map(([, v]) => v ?? "");

/** QEMU's `key=value,key=value` list as a map; the first item may be a bare type name. */
function options(value: string): Map<string, string> {
  return new Map(
    value.split(",").map((item) => {
      const eq = item.indexOf("=");
      return eq < 0 ? [item, ""] : [item.slice(0, eq), item.slice(eq + 1)];
    }),
  );
}

/** The one value of `flag` whose option list starts with `first`. */
function find(args: readonly string[], flag: string, first: string): Map<string, string> {
  const found = values(args, flag).filter((v) => v.split(",")[0]!.startsWith(first));
  expect(found, `${flag} ${first}…`).toHaveLength(1);
  return options(found[0]!);
}

/**
 * What makes the machine, whichever it runs: everything but the name's value, the memory, the
 * disks, the console, the QMP socket, the boot order, the display and the NIC.
 */
function machineFlags(args: readonly string[]): [string, string | undefined][] {
  const perMachine = new Set(["-m", "-qmp", "-chardev", "-serial", "-blockdev", "-display"]);
  return pairs(args)
    .filter(([f]) => !perMachine.has(f) && f !== "-no-reboot" && f !== "-boot" && f !== "-netdev")
    .filter(([f, v]) => !(f === "-device" && !/^virtio-rng-pci,/.test(v ?? "")))
    .map(([f, v]): [string, string | undefined] =>
      f === "-name" ? [f, v?.replace(/^guest=[^,]*/, "guest=…")] : [f, v],
    );
}

/** Strings for the properties, `${` and `$${` included: they must reach QEMU as text. */
const text = (constraints: { minLength?: number; maxLength: number }) =>
  fc.oneof(
    fc.string(constraints),
    fc.string(constraints).map((s) => `${s.slice(0, 3)}\${x}$\${y}${s.slice(3)}`),
  );

/** Sets one string field of a guest (a dotted path for nested ones). */
type Field = (g: QemuGuest, value: string) => QemuGuest;
const guestFields: Record<string, Field> = {
  name: (g, v) => ({ ...g, name: v }),
  image: (g, v) => ({ ...g, image: v }),
  diskSerial: (g, v) => ({ ...g, diskSerial: v }),
  qmpSocket: (g, v) => ({ ...g, qmpSocket: v }),
  consoleLog: (g, v) => ({ ...g, consoleLog: v }),
  consoleSocket: (g, v) => ({ ...g, consoleSocket: v }),
  "vnc.address": (g, v) => ({ ...g, vnc: { address: v, display: 1 } }),
  tap: (g, v) => ({ ...g, tap: v }),
  mac: (g, v) => ({ ...g, mac: v }),
};
/** The fields the installer VM's command line holds (its NIC only for a network install). */
const installFields: Record<string, Field> = {
  name: guestFields.name!,
  diskSerial: guestFields.diskSerial!,
  "install.workDir": (g, v) => ({ ...g, install: { ...g.install, workDir: v } }),
  "install.log": (g, v) => ({ ...g, install: { ...g.install, log: v } }),
  "vnc.address": guestFields["vnc.address"]!,
  tap: guestFields.tap!,
  mac: guestFields.mac!,
};
const fieldCases = [
  ...Object.entries(guestFields).map(([field, set]) => ({ which: "guest" as const, field, set })),
  ...Object.entries(installFields).map(([field, set]) => ({
    which: "install" as const,
    field,
    set,
  })),
];

describeWith(["nix-instantiate"], "qemu.nix: the guest's QEMU (guest g)", () => {
  let plain: string[];
  let vnc: string[];
  beforeAll(() => {
    [plain, vnc] = guestQemuArgs([base, withVnc]) as [string[], string[]];
  });

  it("names the guest and asks for KVM, the host CPU, the declared CPUs and memory", () => {
    const args = plain;
    expect(find(args, "-name", "guest=").get("guest")).toBe(base.name);
    expect(find(args, "-name", "guest=").get("debug-threads")).toBe("on");
    expect(values(args, "-machine")).toEqual(["q35,accel=kvm"]);
    expect(values(args, "-cpu")).toEqual(["host"]);
    expect(values(args, "-smp")).toEqual([String(base.cpus)]);
    expect(values(args, "-m")).toEqual([`${base.memoryMiB}M`]);
    expect(args).toContain("-nodefaults");
    expect(args).toContain("-no-user-config");
    expect(values(args, "-msg")).toEqual(["timestamp=on"]);
    expect(values(args, "-sandbox")).toEqual([
      "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
  });

  it("attaches the image as qcow2 with cache=none, io_uring and discard on a bootable virtio-blk", () => {
    const args = plain;
    const file = find(args, "-blockdev", "driver=file");
    const format = find(args, "-blockdev", "driver=qcow2");
    const device = find(args, "-device", "virtio-blk-pci");
    expect(file.get("filename")).toBe(base.image);
    expect(format.get("file")).toBe(file.get("node-name"));
    expect(device.get("drive")).toBe(format.get("node-name"));
    expect(file.get("aio")).toBe("io_uring");
    for (const node of [file, format]) {
      expect(node.get("cache.direct")).toBe("on");
      expect(node.has("cache.no-flush")).toBe(false); // default off: guest flushes are honoured
      expect(node.get("discard")).toBe("unmap");
    }
    expect(format.get("detect-zeroes")).toBe("unmap");
    expect(device.get("serial")).toBe(base.diskSerial);
    expect(device.get("bootindex")).toBe("1");
  });

  it("has a QMP socket, a console socket logged to a file appended to (never truncated), and an entropy source", () => {
    const args = plain;
    expect(values(args, "-qmp")).toEqual([`unix:${base.qmpSocket},server=on,wait=off`]);
    expect(values(args, "-chardev")).toHaveLength(1);
    const chardev = find(args, "-chardev", "socket");
    expect(chardev.get("path")).toBe(base.consoleSocket);
    expect(chardev.get("server")).toBe("on");
    expect(chardev.get("wait")).toBe("off");
    expect(chardev.get("logfile")).toBe(base.consoleLog);
    expect(chardev.get("logappend")).toBe("on");
    expect(values(args, "-serial")).toEqual([`chardev:${chardev.get("id")}`]);
    const rng = find(args, "-object", "rng-random");
    expect(rng.get("filename")).toBe("/dev/urandom");
    expect(find(args, "-device", "virtio-rng-pci").get("rng")).toBe(rng.get("id"));
  });

  it("shows no display and no VGA card unless asked; VNC comes with a VGA card", () => {
    expect(values(plain, "-display")).toEqual(["none"]);
    expect(values(plain, "-device").filter((d) => /vga/i.test(d))).toEqual([]);
    expect(values(vnc, "-display")).toEqual([
      `vnc=${withVnc.vnc!.address}:${withVnc.vnc!.display}`,
    ]);
    expect(values(vnc, "-device")).toContain("VGA");
  });

  it("has exactly one NIC: the guest's pre-created tap with vhost, and the guest's MAC", () => {
    for (const args of [plain, vnc]) {
      expect(values(args, "-netdev")).toHaveLength(1);
      const netdev = find(args, "-netdev", "tap");
      expect(netdev.get("ifname")).toBe(base.tap);
      expect(netdev.get("script")).toBe("no");
      expect(netdev.get("downscript")).toBe("no");
      expect(netdev.get("vhost")).toBe("on");
      const nic = find(args, "-device", "virtio-net-pci");
      expect(nic.get("netdev")).toBe(netdev.get("id"));
      expect(nic.get("mac")).toBe(base.mac);
    }
  });

  it("passes any comma-free path through unchanged (100 guests in one evaluation)", () => {
    const path = text({ minLength: 1, maxLength: 40 })
      .filter((s) => !s.includes(","))
      .map((s) => `/${s}`);
    const samples = fc.sample(fc.tuple(path, path, path), { numRuns: 100, seed: 42 });
    const guests = samples.map(([image, qmpSocket, consoleLog]) => ({
      ...base,
      image,
      qmpSocket,
      consoleLog,
      consoleSocket: `${qmpSocket}.console`,
    }));
    const all = guestQemuArgs(guests);
    expect(all).toHaveLength(guests.length);
    all.forEach((args, i) => {
      const g = guests[i]!;
      expect(find(args, "-blockdev", "driver=file").get("filename")).toBe(g.image);
      const chardev = find(args, "-chardev", "socket");
      expect(chardev.get("logfile")).toBe(g.consoleLog);
      expect(chardev.get("path")).toBe(g.consoleSocket);
      expect(values(args, "-qmp")).toEqual([`unix:${g.qmpSocket},server=on,wait=off`]);
    });
  });
});

describeWith(["nix-instantiate"], "qemu.nix: the installer VM's QEMU (install g)", () => {
  let network: string[];
  let vnc: string[];
  let offlineArgs: string[];
  beforeAll(() => {
    [network, vnc, offlineArgs] = installQemuArgs(examples) as [string[], string[], string[]];
  });

  it("boots the CD once, never reboots, seed read-only, target by serial, no bootindex", () => {
    for (const args of [network, offlineArgs]) {
      const line = args.join(" ");
      expect(args).toContain("-no-reboot");
      expect(values(args, "-boot")).toEqual(["once=d"]);
      expect(line).toContain(
        "-blockdev driver=file,node-name=installer-file,filename=/var/lib/qemu-guests/alice/install.tmp/installer.iso,read-only=on",
      );
      expect(line).toContain(
        "-blockdev driver=raw,node-name=installer,file=installer-file,read-only=on",
      );
      expect(line).toContain("-device ide-cd,drive=installer,bus=ide.0");
      // The image in progress, in the work directory, found by the guest's serial.
      expect(line).toContain(
        "-blockdev driver=file,node-name=disk0-file,filename=/var/lib/qemu-guests/alice/install.tmp/disk.qcow2,discard=unmap",
      );
      expect(line).toContain("-device virtio-blk-pci,drive=disk0,serial=alice-root");
      expect(line).toContain(
        "driver=vvfat,node-name=seed,dir=/var/lib/qemu-guests/alice/install.tmp/seed,fat-type=16,label=VMFLAKESEED,read-only=on",
      );
      expect(line).toContain("-device virtio-blk-pci,drive=seed,serial=vmflake-seed");
      expect(line).toContain(
        "-chardev file,id=serial0,path=/var/lib/qemu-guests/alice/install.log,append=on",
      );
      expect(line).not.toContain("bootindex");
      expect(values(args, "-display")).toEqual(["none"]);
      // No QMP socket: the install script ends the VM by its process, not through QMP.
      expect(values(args, "-qmp")).toEqual([]);
      expect(find(args, "-name", "guest=").get("guest")).toBe("alice-install");
      expect(values(args, "-m")).toEqual([`${base.install.memoryMiB}M`]);
    }
  });

  it("has every safety flag itself, asserted exactly as the guest's: sandbox, read-only CD and seed, no reboot", () => {
    for (const args of [network, vnc, offlineArgs]) {
      // The same seccomp policy as the guest's, spelled out (not only equal to the guest's).
      expect(values(args, "-sandbox")).toEqual([
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
      ]);
      // -no-reboot as a flag of its own (a reboot ends QEMU, so the CD never boots twice).
      expect(pairs(args).filter(([f, v]) => f === "-no-reboot" && v === undefined)).toHaveLength(1);
      // Read-only on both layers of the CD and on the seed; only the image-in-progress writes.
      const node = (name: string) => {
        const found = values(args, "-blockdev")
          .map(options)
          .filter((o) => o.get("node-name") === name);
        expect(found, `-blockdev node-name=${name}`).toHaveLength(1);
        return found[0]!;
      };
      for (const name of ["installer-file", "installer", "seed"]) {
        expect(node(name).get("read-only"), name).toBe("on");
      }
      expect(node("seed").get("driver")).toBe("vvfat");
      expect(node("seed").has("rw")).toBe(false);
      expect(node("disk0-file").has("read-only")).toBe(false);
      expect(values(args, "-blockdev")).toHaveLength(5);
      expect(args).not.toContain("-snapshot");
    }
  });

  it("has the guest's NIC for a network install and none for an offline one", () => {
    expect(network.join(" ")).toContain(
      // Two CPUs: a queue per CPU and 2 × 2 + 2 vectors, as the guest's own QEMU.
      "-netdev tap,id=net0,ifname=vm-alice,script=no,downscript=no,vhost=on,queues=2 -device virtio-net-pci,netdev=net0,mac=52:54:00:ab:cd:ef,mq=on,vectors=6",
    );
    expect(values(offlineArgs, "-netdev")).toEqual([]);
    expect(values(offlineArgs, "-device").filter((d) => /net/.test(d))).toEqual([]);
  });

  it("uses the guest's VNC when given", () => {
    expect(vnc.join(" ")).toContain("-display vnc=127.0.0.1:3 -device VGA");
  });
});

describeWith(["nix-instantiate"], "qemu.nix: one builder for both machines", () => {
  it("the guest and its installer VM share every machine flag (name, machine, cpu, smp, sandbox, nodefaults, no-user-config, msg, rng)", () => {
    const guests = fc
      .sample(
        fc.record({
          name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          cpus: fc.integer({ min: 1, max: 255 }),
          memoryMiB: fc.integer({ min: 128, max: 65536 }),
          vnc: fc.option(fc.record({ display: fc.integer({ min: 0, max: 99 }) })),
          offline: fc.boolean(),
        }),
        { numRuns: 30, seed: 7 },
      )
      .map((s) =>
        qemuGuest({
          ...base,
          name: s.name,
          cpus: s.cpus,
          memoryMiB: s.memoryMiB,
          image: `/var/lib/qemu-guests/${s.name}/disk.qcow2`,
          vnc: s.vnc === null ? null : { address: "127.0.0.1", display: s.vnc.display },
          install: { ...base.install, offline: s.offline },
        }),
      );
    const [guestArgs, installArgs] = [guestQemuArgs(guests), installQemuArgs(guests)];
    guests.forEach((g, i) => {
      const own = machineFlags(guestArgs[i]!);
      expect(machineFlags(installArgs[i]!)).toEqual(own);
      // The flags the comparison covers, so that it can never compare two empty lists.
      expect(own.map(([f]) => f)).toEqual([
        "-name",
        "-machine",
        "-cpu",
        "-smp",
        "-nodefaults",
        "-no-user-config",
        "-msg",
        "-sandbox",
        "-object",
        "-device",
      ]);
      expect(find(guestArgs[i]!, "-name", "guest=").get("guest")).toBe(g.name);
      expect(find(installArgs[i]!, "-name", "guest=").get("guest")).toBe(`${g.name}-install`);
      expect(values(guestArgs[i]!, "-smp")).toEqual([String(g.cpus)]);
      // Both show the same console: the installer VM's VNC display is the guest's.
      expect(values(installArgs[i]!, "-display")).toEqual(values(guestArgs[i]!, "-display"));
    });
  });

  it("uses no removed or deprecated syntax", () => {
    for (const args of [...guestQemuArgs(examples), ...installQemuArgs(examples)]) {
      for (const removed of ["-usbdevice", "-net", "-runas", "-chroot", "-no-acpi", "-no-hpet"]) {
        expect(args).not.toContain(removed);
      }
      expect(args.join(" ")).not.toMatch(/boot=on|if=virtio|accel=kvm:tcg|pc-q35-/);
      // Short-form booleans (`server,nowait`, `readonly`) are deprecated: after the leading type
      // name, every item of an option list must be key=value.
      for (const [flag, value] of pairs(args)) {
        for (const item of value?.split(",").slice(1) ?? []) {
          expect(item, `${flag} ${value}`).toContain("=");
        }
      }
    }
  });
});

describeWith(["nix-instantiate"], "qemu.nix refuses what QEMU would split or cut", () => {
  it("throws when a value contains a comma, for every field QEMU would split, in both machines", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...fieldCases),
        text({ maxLength: 8 }),
        text({ maxLength: 8 }),
        ({ which, field, set }, before, after) => {
          const error = builderError(which, set(base, `${before},${after}`));
          expect(error, `${which} ${field}`).toMatch(/contains a comma/);
        },
      ),
      { numRuns: 60, seed: 1 },
    );
  });

  it("sees a comma after a newline too (Nix's regex `.` must not stop at a line end)", () => {
    for (const { which, field, set } of fieldCases) {
      expect(builderError(which, set(base, "a\n,b")), `${which} ${field}`).toMatch(
        /contains a comma/,
      );
    }
  });

  it("refuses an empty value in every field", () => {
    // The installer VM's name is `<name>-install`, never empty; an empty guest name is refused by
    // the guest's own command line (and by the module: a guest needs a state directory).
    const cases = fieldCases.filter((c) => !(c.which === "install" && c.field === "name"));
    for (const { which, field, set } of cases) {
      expect(builderError(which, set(base, "")), `${which} ${field}`).toMatch(/is empty/);
    }
  });

  it("refuses serials longer than 20 bytes (bytes, not characters), in both machines", () => {
    for (const which of ["guest", "install"] as const) {
      for (const serial of ["x".repeat(21), "é".repeat(11)]) {
        expect(builderError(which, { ...base, diskSerial: serial }), serial).toMatch(
          /longer than 20 bytes/,
        );
      }
      for (const serial of ["x".repeat(20), "é".repeat(10)]) {
        expect(builderError(which, { ...base, diskSerial: serial }), serial).toBeUndefined();
      }
    }
  });
});

/**
 * Numbers reach qemu.nix already checked: the builder prints them as they are, and the options
 * of lib/runtime/nixos/default.nix refuse what QEMU could not use. Shown here by evaluating the
 * runtime module (stand-in nixpkgs' module system) with one bad value at a time.
 */
describeWith(["nix-instantiate"], "the runtime's option types refuse unusable numbers", () => {
  const runtime = join(import.meta.dirname, "..", "..", "lib", "runtime", "nixos");
  /** The evaluated guest's value at `path`, or the evaluation's error. */
  function evalGuest(settings: string, path: string): { ok: boolean; error: string } {
    try {
      evalJson(`
        let
          nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
          system = nixpkgs.lib.nixosSystem {
            modules = [
              (/. + ${nixPath(runtime)})
              {
                vmflake = {
                  enable = true;
                  hostName = "study";
                  lan = { nic = "eth0"; bridge = "br0"; };
                  installer.iso = "/iso";
                  guests.alice = {
                    memoryMiB = 1024;
                    diskBytes = 1073741824;
                    tap = "vm-alice";
                    mac = "52:54:00:ab:cd:ef";
                  } // ${settings};
                };
              }
            ];
          };
        in system.config.vmflake.guests.alice.${path}`);
      return { ok: true, error: "" };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  const refused: [string, string][] = [
    ["{ cpus = 0; }", "cpus"],
    ["{ cpus = 1.5; }", "cpus"],
    ["{ cpus = 256; }", "cpus"],
    ["{ memoryMiB = -512; }", "memoryMiB"],
    ["{ memoryMiB = 0; }", "memoryMiB"],
    ["{ vnc.display = -1; }", "vnc.display"],
    ["{ vnc.display = 100; }", "vnc.display"],
    ["{ install.memoryMiB = 0; }", "install.memoryMiB"],
    [`{ diskSerial = "${"x".repeat(21)}"; }`, "diskSerial"],
    ['{ vnc = { display = 1; address = "a,b"; }; }', "vnc.address"],
  ];

  it.each(refused)("%s is refused", (settings, path) => {
    const r = evalGuest(settings, path);
    expect(r.ok, `${settings} evaluated`).toBe(false);
    // The stand-in's wording, and nixpkgs' ("A definition for option `…' is not of type …").
    const option = `vmflake\\.guests\\.alice\\.${path.replaceAll(".", "\\.")}`;
    expect(r.error).toMatch(new RegExp(`${option}' (has a wrong type|is not of type)`));
  });

  it("the same settings in range evaluate (the refusals are the values, not the harness)", () => {
    for (const [settings, path] of [
      ["{ cpus = 255; }", "cpus"],
      ["{ memoryMiB = 128; }", "memoryMiB"],
      ["{ vnc.display = 99; }", "vnc.display"],
      ["{ install.memoryMiB = 128; }", "install.memoryMiB"],
      [`{ diskSerial = "${"x".repeat(20)}"; }`, "diskSerial"],
    ] as const) {
      expect(evalGuest(settings, path), settings).toEqual({ ok: true, error: "" });
    }
  });
});
