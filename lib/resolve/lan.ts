/** How a host joins its LAN: its NIC, the bridge that takes the NIC's place, its address. */
import { boolean, fieldList, object, string } from "../fields.ts";
import { macProblem } from "../mac.ts";
import type { ResolvedHost, ResolvedIPv4 } from "../model.ts";
import { type Problems, show } from "../problems.ts";
import type { LanSpec } from "../spec.ts";
import { staticIPv4 } from "./ipv4.ts";
import { ifname } from "./values.ts";

/** The fields of a host's LAN. */
export const LAN_FIELDS = fieldList<LanSpec>()([
  "nic",
  "bridge",
  "address",
  "bridgeMac",
  "bypassHostFirewall",
]);

/** The host's LAN, or undefined after reporting (also when it is missing: it is required). */
export function resolveLan(
  p: Problems,
  value: unknown,
  path: string,
): ResolvedHost["lan"] | undefined {
  if (value === undefined) {
    p.add(
      path,
      'is missing; give the host NIC and the bridge, e.g. { nic: "enp0s31f6", bridge: "br0" }',
    );
    return undefined;
  }
  const lan = object(p, value, path, LAN_FIELDS);
  if (lan === undefined) return undefined;
  const nic =
    lan.nic === undefined
      ? (p.add(`${path}.nic`, "is missing"), undefined)
      : ifname(p, lan.nic, `${path}.nic`, "interface");
  const bridge =
    lan.bridge === undefined
      ? (p.add(`${path}.bridge`, "is missing"), undefined)
      : ifname(p, lan.bridge, `${path}.bridge`, "bridge");
  if (nic !== undefined && nic === bridge)
    p.add(`${path}.bridge`, `must differ from the NIC ${show(nic)}`);
  let address: "dhcp" | ResolvedIPv4 = "dhcp";
  if (lan.address !== undefined && lan.address !== "dhcp") {
    const a = staticIPv4(p, lan.address, `${path}.address`);
    if (a !== undefined) address = a;
  }
  let bridgeMac: string | undefined;
  if (lan.bridgeMac !== undefined) {
    const m = string(p, lan.bridgeMac, `${path}.bridgeMac`);
    const why = m === undefined ? undefined : macProblem(m.toLowerCase());
    if (why) p.add(`${path}.bridgeMac`, why);
    else if (m !== undefined) bridgeMac = m.toLowerCase();
  }
  let bypassHostFirewall = true;
  if (lan.bypassHostFirewall !== undefined) {
    bypassHostFirewall = boolean(p, lan.bypassHostFirewall, `${path}.bypassHostFirewall`) ?? true;
  }
  if (nic === undefined || bridge === undefined) return undefined;
  return { nic, bridge, address, ...(bridgeMac ? { bridgeMac } : {}), bypassHostFirewall };
}
