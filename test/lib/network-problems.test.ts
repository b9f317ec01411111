/**
 * A problem in one field of a network hides no check that does not depend on it: what the
 * bad-hosts corpus shows end to end, here case by case, with what still resolves.
 */
import { describe, expect, it } from "vitest";
import { SpecError, resolveSpec } from "../../lib/index.ts";

const lan = { nic: "eno1", bridge: "br0" };
const sized = { memory: "1G", disk: "4G" };

function problems(input: unknown): string[] {
  try {
    resolveSpec(input);
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

function host(networks: unknown, guests: unknown): unknown {
  return { hosts: { h: { lan, stateVersion: "26.05", networks, guests } } };
}

describe("network problems", () => {
  it("an invalid subnet hides none of its network's other checks", () => {
    expect(
      problems(
        host(
          { nat: { kind: "nat", bridge: "vnat 0", subnet: "10.77.0.0/8x" }, lab: lab() },
          {
            a: { ...sized, nics: [{ network: "nat", ipv4: "10.77.0.256" }] },
            b: { ...sized, nics: [{ network: "nat", ipv4: "10.77.0.9" }] },
            c: { ...sized, nics: [{ network: "nat", ipv4: "10.77.0.9" }] },
          },
        ),
      ),
    ).toEqual([
      'hosts.h.networks.nat.bridge: "vnat 0" is not a valid bridge name: 1–15 characters from letters, digits, "_", "." and "-", not starting with a symbol',
      'hosts.h.networks.nat.subnet: "10.77.0.0/8x" is not an IPv4 address with a prefix length such as 10.77.0.0/24',
      'hosts.h.guests.a.nics[0].ipv4: "10.77.0.256" is not an IPv4 address such as 10.77.0.10',
      "hosts.h.guests.c.nics[0].ipv4: 10.77.0.9 is already the address of guest b",
    ]);
  });

  it("an invalid subnet keeps its valid bridge in the clash checks", () => {
    expect(
      problems(
        host(
          {
            one: { kind: "nat", bridge: "vone0", subnet: "nope" },
            two: { kind: "nat", bridge: "vone0", subnet: "10.78.0.0/24" },
            three: { kind: "nat", bridge: "eno1", subnet: "10.79.0.0/33" },
          },
          { a: { ...sized, nics: [{ network: "lan" }, { network: "one", tap: "vone0" }] } },
        ),
      ),
    ).toEqual([
      'hosts.h.networks.one.subnet: "nope" is not an IPv4 address with a prefix length such as 10.77.0.0/24',
      'hosts.h.networks.three.subnet: "10.79.0.0/33": the prefix length must be from 8 to 30',
      'hosts.h.networks.two.bridge: "vone0" is already the bridge of network one',
      'hosts.h.networks.three.bridge: "eno1" is the host\'s LAN NIC; a network needs a bridge of its own',
      'hosts.h.guests.a.nics[1].tap: "vone0" is the bridge of one of the host\'s networks; a guest needs a tap of its own',
    ]);
  });

  it.each([
    [
      "a prefix length out of range",
      "10.77.0.0/31",
      '"10.77.0.0/31": the prefix length must be from 8 to 30',
    ],
    ["host bits", "10.77.0.9/24", '"10.77.0.9/24" has host bits set; the subnet is 10.77.0.0/24'],
    ["no subnet", undefined, 'is missing; give a private IPv4 subnet such as "10.77.0.0/24"'],
  ])(
    "with %s, the subnet is the one problem: leases on it are not judged by it",
    (_, subnet, why) => {
      expect(
        problems(
          host(
            { nat: { kind: "nat", bridge: "vnat0", subnet } },
            {
              a: {
                ...sized,
                nics: [
                  { network: "nat", ipv4: "10.77.0.1" },
                  { network: "nat", ipv4: "10.77.0.255" },
                  { network: "nat", ipv4: "10.99.0.5" },
                  { network: "nat" },
                ],
              },
            },
          ),
        ),
      ).toEqual([`hosts.h.networks.nat.subnet: ${why}`]);
    },
  );

  it("reports host bits and a public block of one subnet together", () => {
    expect(
      problems(host({ nat: { kind: "nat", bridge: "vnat0", subnet: "8.8.8.5/24" } }, {})),
    ).toEqual([
      'hosts.h.networks.nat.subnet: "8.8.8.5/24" has host bits set; the subnet is 8.8.8.0/24',
      'hosts.h.networks.nat.subnet: "8.8.8.5/24" is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); a network of the host\'s must not shadow addresses of the internet',
    ]);
  });

  it("checks leases on valid networks while another network is wrong", () => {
    expect(
      problems(
        host(
          {
            nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" },
            lab: lab(),
            bad: { kind: "nat", bridge: "vbad0", subnet: "10.1.2.3" },
          },
          {
            a: {
              ...sized,
              nics: [
                { network: "nat", ipv4: "10.78.0.5" },
                { network: "lab", ipv4: "not an address" },
                { network: "nat", tap: "vlab0" },
              ],
            },
          },
        ),
      ),
    ).toEqual([
      'hosts.h.networks.bad.subnet: "10.1.2.3" is not an IPv4 address with a prefix length such as 10.77.0.0/24',
      "hosts.h.guests.a.nics[0].ipv4: 10.78.0.5 is not inside network nat's subnet 10.77.0.0/24",
      "hosts.h.guests.a.nics[1].ipv4: network lab is host-only and serves no DHCP; set the guest's address in its own configuration",
      'hosts.h.guests.a.nics[2].tap: "vlab0" is the bridge of one of the host\'s networks; a guest needs a tap of its own',
    ]);
  });

  it("checks the bridge and fields of a network whose kind is wrong or missing", () => {
    expect(
      problems(
        host(
          {
            odd: { kind: "bridged", bridge: "vodd0!", subnet: "10.77.0.1/24" },
            none: { brige: "vnone0" },
          },
          {},
        ),
      ),
    ).toEqual([
      'hosts.h.networks.odd.kind: "bridged" is not one of hostOnly, nat',
      'hosts.h.networks.odd.bridge: "vodd0!" is not a valid bridge name: 1–15 characters from letters, digits, "_", "." and "-", not starting with a symbol',
      'hosts.h.networks.odd.subnet: "10.77.0.1/24" has host bits set; the subnet is 10.77.0.0/24',
      "hosts.h.networks.none.kind: is missing; give one of hostOnly, nat",
      'hosts.h.networks.none.brige: unknown field; did you mean "bridge"?',
      'hosts.h.networks.none.bridge: is missing; name the bridge to create, e.g. "vnat0"',
    ]);
  });

  it("reports a lease asked for twice even when its guests have other problems", () => {
    expect(
      problems(
        host(
          { nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" } },
          {
            a: { ...sized, cpus: 0, nics: [{ network: "nat", ipv4: "10.77.0.9" }] },
            b: { ...sized, nics: [{ network: "lan" }, { network: "nat", ipv4: "10.77.0.9" }] },
          },
        ),
      ),
    ).toEqual([
      "hosts.h.guests.a.cpus: 0 is out of range; use a CPU count from 1 to 255",
      "hosts.h.guests.b.nics[1].ipv4: 10.77.0.9 is already the address of guest a",
    ]);
  });

  it("still resolves valid networks, with declared and assigned leases", () => {
    const spec = resolveSpec(
      host(
        { nat: { kind: "nat", bridge: "vnat0", subnet: "10.77.0.0/24" }, lab: lab() },
        {
          a: { ...sized, nics: [{ network: "nat", ipv4: "10.77.0.9" }, { network: "lab" }] },
          b: { ...sized, nics: [{ network: "nat" }] },
        },
      ),
    );
    const h = spec.hosts[0]!;
    expect(h.networks).toEqual([
      {
        name: "nat",
        kind: "nat",
        bridge: "vnat0",
        address: { address: "10.77.0.1", prefixLength: 24 },
        subnet: { address: "10.77.0.0", prefixLength: 24 },
      },
      { name: "lab", kind: "hostOnly", bridge: "vlab0" },
    ]);
    expect(h.guests[0]!.nics.map((n) => n.ipv4)).toEqual(["10.77.0.9", undefined]);
    expect(h.guests[1]!.nics[0]!.ipv4).toMatch(
      /^10\.77\.0\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$/,
    );
    expect(h.guests[1]!.nics[0]!.ipv4).not.toBe("10.77.0.9");
  });
});

function lab(): unknown {
  return { kind: "hostOnly", bridge: "vlab0" };
}
