/**
 * Host devices handed to a guest: PCI devices by address (VFIO) and USB devices by IDs. A device
 * belongs to one guest: every claim is recorded, whatever else is wrong, and clashes on a host
 * are reported with the other problems.
 */
import { describe, fieldList, integer, list, object, string } from "../fields.ts";
import type { ResolvedHost, ResolvedPassthrough, ResolvedUsbDevice } from "../model.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import type { UsbDeviceSpec } from "../spec.ts";

/** The fields of a USB device. */
export const USB_FIELDS = fieldList<UsbDeviceSpec>()(["vendor", "product", "bus", "port"]);

/** The kernel's PCI address: domain, bus, device (00–1f) and function (0–7). */
const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/;
const PCI_LOOSE = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f])$/;
const USB_ID = /^[0-9a-f]{4}$/;
/** A port path: the root port, then a port of each hub (USB allows 7 levels). */
const USB_PORT = /^[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,6}$/;
/** Devices per guest: q35's root bus has 32 slots; qemu-xhci gets 15 USB 2 and 15 USB 3 ports. */
const MAX_PCI = 16;
const MAX_USB = 15;

/** A device a guest claims, for the clash check across a host's guests. */
export interface DeviceClaim {
  readonly host: string;
  readonly guest: string;
  /** Where the device is listed, e.g. `hosts.study.guests.build.pci[0]`. */
  readonly path: string;
  readonly device: { readonly pci: string } | { readonly usb: ResolvedUsbDevice };
}

/** The host's `iommu`, or undefined (the default, or after reporting). */
export function resolveIommu(
  p: Problems,
  value: unknown,
  path: string,
): ResolvedHost["iommu"] | undefined {
  if (value === undefined) return undefined;
  if (value === "intel" || value === "amd" || value === "none") return value;
  p.add(path, `must be "intel", "amd" or "none", got ${describe(value)}`);
  return undefined;
}

/**
 * The guest's `pci` and `usb`, or undefined when it has neither (or after reporting). Every valid
 * device is pushed to `claims`.
 */
export function resolvePassthrough(
  p: Problems,
  g: { readonly pci?: unknown; readonly usb?: unknown },
  path: string,
  owner: { readonly host: string; readonly guest: string },
  claims: DeviceClaim[],
): ResolvedPassthrough | undefined {
  const pci: string[] = [];
  const usb: ResolvedUsbDevice[] = [];
  devices(p, g.pci, `${path}.pci`, MAX_PCI).forEach((v, i) => {
    const at = joinPath(`${path}.pci`, i);
    const addr = pciAddress(p, v, at);
    if (addr === undefined) return;
    const first = pci.indexOf(addr);
    if (first >= 0) p.add(at, `${addr} is already listed at ${joinPath(`${path}.pci`, first)}`);
    else {
      pci.push(addr);
      claims.push({ ...owner, path: at, device: { pci: addr } });
    }
  });
  devices(p, g.usb, `${path}.usb`, MAX_USB).forEach((v, i) => {
    const at = joinPath(`${path}.usb`, i);
    const d = usbDevice(p, v, at);
    if (d === undefined) return;
    const first = usb.findIndex((o) => usbOverlap(o, d));
    if (first >= 0) {
      p.add(
        at,
        `${usbName(d)} is already matched by ${joinPath(`${path}.usb`, first)}; give bus and port to tell identical devices apart`,
      );
    } else {
      usb.push(d);
      claims.push({ ...owner, path: at, device: { usb: d } });
    }
  });
  return pci.length === 0 && usb.length === 0 ? undefined : { pci, usb };
}

/** Devices two guests of one host both claim; each clash is reported at the later claim. */
export function checkDeviceClaims(p: Problems, claims: readonly DeviceClaim[]): void {
  claims.forEach((c, i) => {
    const earlier = claims
      .slice(0, i)
      .find(
        (o) =>
          o.host === c.host &&
          o.guest !== c.guest &&
          ("pci" in c.device && "pci" in o.device
            ? c.device.pci === o.device.pci
            : "usb" in c.device && "usb" in o.device && usbOverlap(c.device.usb, o.device.usb)),
      );
    if (earlier === undefined) return;
    const what = "pci" in c.device ? `PCI device ${c.device.pci}` : usbName(c.device.usb);
    p.add(
      c.path,
      `${what} is also given to guest ${earlier.guest} (${earlier.path}); a device can be in one guest only${"usb" in c.device ? " (give bus and port to tell identical devices apart)" : ""}`,
    );
  });
}

/** An optional list of at most `max` devices (its items are checked by the caller). */
function devices(p: Problems, value: unknown, path: string, max: number): readonly unknown[] {
  const items = value === undefined ? [] : (list(p, value, path) ?? []);
  if (items.length > max)
    p.add(path, `lists ${items.length} devices; a guest takes at most ${max}`);
  return items;
}

function pciAddress(p: Problems, value: unknown, path: string): string | undefined {
  const s = string(p, value, path);
  if (s === undefined) return undefined;
  const lower = s.toLowerCase();
  if (PCI_ADDRESS.test(lower)) return lower;
  const m = PCI_LOOSE.exec(lower);
  if (m !== null && m[1] === undefined) {
    p.add(path, `${show(s)} has no PCI domain; write it as lspci -D does: "0000:${lower}"`);
  } else if (m !== null && Number.parseInt(m[3]!, 16) > 0x1f) {
    p.add(path, `${show(s)}: device ${m[3]} is out of range; PCI device numbers are 00 to 1f`);
  } else if (m !== null) {
    p.add(path, `${show(s)}: function ${m[4]} is out of range; PCI functions are 0 to 7`);
  } else {
    p.add(path, `${show(s)} is not a PCI address DDDD:BB:DD.F such as "0000:01:00.0" (lspci -D)`);
  }
  return undefined;
}

function usbDevice(p: Problems, value: unknown, path: string): ResolvedUsbDevice | undefined {
  const d = object(p, value, path, USB_FIELDS);
  if (d === undefined) return undefined;
  const vendor = usbId(p, d.vendor, `${path}.vendor`, "vendor");
  const product = usbId(p, d.product, `${path}.product`, "product");
  const bus = d.bus === undefined ? undefined : integer(p, d.bus, `${path}.bus`, 1, 255, "a bus");
  let port: string | undefined;
  if (d.port !== undefined) {
    const s = string(p, d.port, `${path}.port`);
    if (s !== undefined && !USB_PORT.test(s)) {
      p.add(
        `${path}.port`,
        `${show(s)} is not a USB port path such as "2" or "1.4" (ports 1–999, dot-separated, at most 7)`,
      );
    } else if (s !== undefined && d.bus === undefined) {
      p.add(`${path}.port`, "is set but bus is not; a port is a port of one bus, so give bus too");
    } else port = s;
  }
  if (vendor === undefined || product === undefined) return undefined;
  if ((d.bus !== undefined && bus === undefined) || (d.port !== undefined && port === undefined))
    return undefined;
  return {
    vendor,
    product,
    ...(bus === undefined ? {} : { bus }),
    ...(port === undefined ? {} : { port }),
  };
}

function usbId(p: Problems, value: unknown, path: string, what: string): string | undefined {
  if (value === undefined) {
    p.add(path, `is missing; give the ${what} ID, four hex digits as lsusb prints them`);
    return undefined;
  }
  if (typeof value !== "string") {
    p.add(path, `must be a string of four hex digits such as "046d", got ${describe(value)}`);
    return undefined;
  }
  const lower = value.toLowerCase();
  if (!USB_ID.test(lower)) {
    const hint = /^0x[0-9a-f]{4}$/.test(lower) ? `; write it without 0x: "${lower.slice(2)}"` : "";
    p.add(path, `${show(value)} is not a USB ${what} ID of four hex digits such as "046d"${hint}`);
    return undefined;
  }
  if (lower === "0000") {
    p.add(path, `"0000" is no device's ${what} ID (QEMU reads 0 as any device)`);
    return undefined;
  }
  return lower;
}

/** Whether one host device could match both: same IDs, and bus and port equal or left open. */
function usbOverlap(a: ResolvedUsbDevice, b: ResolvedUsbDevice): boolean {
  const open = (x: unknown, y: unknown) => x === undefined || y === undefined || x === y;
  return (
    a.vendor === b.vendor && a.product === b.product && open(a.bus, b.bus) && open(a.port, b.port)
  );
}

function usbName(d: ResolvedUsbDevice): string {
  const where =
    d.bus === undefined ? "" : ` on bus ${d.bus}${d.port === undefined ? "" : ` port ${d.port}`}`;
  return `USB device ${d.vendor}:${d.product}${where}`;
}
