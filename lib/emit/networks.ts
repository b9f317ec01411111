/**
 * The networks part of `modules/<host>.nix`: the host's private networks (`vmflake.networks`) and,
 * per guest, where its NICs go. A guest with one NIC on the LAN gets nothing from here, so its
 * values read as they did before networks existed.
 */
import * as n from "../../dsl/index.ts";
import type { NixBinding } from "../../dsl/index.ts";
import { LAN_NETWORK, type ResolvedGuest, type ResolvedHost, type ResolvedNic } from "../model.ts";

/** `networks = { … }`, or nothing for a host without networks. */
export function networks(host: ResolvedHost): NixBinding[] {
  if (host.networks.length === 0) return [];
  return [
    n.bind(
      "networks",
      n.attrs(
        host.networks.map((net) =>
          n.bind(
            net.name,
            n.attrs([
              n.bind("kind", net.kind),
              n.bind("bridge", net.bridge),
              ...(net.address === undefined
                ? []
                : [
                    n.bind(
                      "address",
                      { address: net.address.address, prefixLength: net.address.prefixLength },
                      net.kind === "nat"
                        ? { comment: "The host: the guests' router, DHCP and DNS server." }
                        : {},
                    ),
                  ]),
            ]),
          ),
        ),
      ),
      {
        comment: [
          "Bridges with no NIC of the host's on them. A NAT network's guests get fixed leases by",
          "DHCP and reach the LAN through the host; a host-only network's reach nothing else.",
        ],
      },
    ),
  ];
}

/** The first NIC's network and lease (when not the defaults), then the other NICs. */
export function guestNics(g: ResolvedGuest): NixBinding[] {
  const [first, ...rest] = g.nics;
  const out: NixBinding[] = [];
  if (first !== undefined) out.push(...placement(first));
  if (rest.length > 0) {
    out.push(
      n.bind(
        "extraNics",
        rest.map((nic) =>
          n.attrs([n.bind("tap", nic.tap), n.bind("mac", nic.mac), ...placement(nic)]),
        ),
      ),
    );
  }
  return out;
}

function placement(nic: ResolvedNic): NixBinding[] {
  const out: NixBinding[] = [];
  if (nic.network !== LAN_NETWORK) out.push(n.bind("network", nic.network));
  if (nic.ipv4 !== undefined) out.push(n.bind("dhcpAddress", nic.ipv4));
  return out;
}
