/** Static IPv4 configurations (a host's address on its bridge, a guest's) and IP addresses. */
import { fieldList, list, object, string } from "../fields.ts";
import type { ResolvedIPv4 } from "../model.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import type { StaticIPv4 } from "../spec.ts";

/** The fields of a static IPv4 configuration. */
export const IPV4_FIELDS = fieldList<StaticIPv4>()(["addresses", "gateway", "dns"]);

/** A dotted-quad IPv4 address, each part 0–255 without leading zeros. */
export const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
const IPV6 = /^[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}$/;

/** A static configuration, or undefined after reporting every problem in it. */
export function staticIPv4(p: Problems, value: unknown, path: string): ResolvedIPv4 | undefined {
  if (typeof value === "string") {
    p.add(
      path,
      `${show(value)}: use "dhcp" or { addresses: ["192.168.1.10/24"], gateway: "192.168.1.1" }`,
    );
    return undefined;
  }
  const o = object(p, value, path, IPV4_FIELDS);
  if (o === undefined) return undefined;
  const before = p.list.length;
  const addresses: { address: string; prefixLength: number }[] = [];
  const list_ =
    o.addresses === undefined
      ? (p.add(`${path}.addresses`, "is missing"), undefined)
      : list(p, o.addresses, `${path}.addresses`);
  if (list_ !== undefined && list_.length === 0)
    p.add(`${path}.addresses`, "is empty; give at least one address such as 192.168.1.10/24");
  list_?.forEach((a, i) => {
    const m = typeof a === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(a) : null;
    if (m === null || !IPV4.test(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 32) {
      p.add(
        joinPath(`${path}.addresses`, i),
        `${show(a)} is not an IPv4 address with prefix length such as 192.168.1.10/24`,
      );
    } else addresses.push({ address: m[1]!, prefixLength: Number(m[2]) });
  });
  const gateway =
    o.gateway === undefined
      ? (p.add(`${path}.gateway`, "is missing"), undefined)
      : string(p, o.gateway, `${path}.gateway`);
  if (gateway !== undefined && !IPV4.test(gateway))
    p.add(`${path}.gateway`, `${show(gateway)} is not an IPv4 address`);
  const dns: string[] = [];
  if (o.dns !== undefined) {
    list(p, o.dns, `${path}.dns`)?.forEach((d, i) => {
      if (typeof d !== "string" || !(IPV4.test(d) || IPV6.test(d)))
        p.add(joinPath(`${path}.dns`, i), `${show(d)} is not an IP address`);
      else dns.push(d);
    });
  }
  if (p.list.length > before || gateway === undefined) return undefined;
  return { addresses, gateway, dns };
}
