/** Guest MAC addresses: derived deterministically, or given and checked. */
import { createHash } from "node:crypto";

export const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * `52:54:00` (QEMU's locally administered prefix) and the first three bytes of
 * SHA-256(`<host>/<guest>`): the same names give the same MAC on every machine and run.
 */
export function deriveMac(host: string, guest: string): string {
  const h = createHash("sha256").update(`${host}/${guest}`).digest();
  return [
    "52",
    "54",
    "00",
    ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, "0")),
  ].join(":");
}

/** Why a MAC cannot be used, or undefined if it can (expects lowercase). */
export function macProblem(mac: string): string | undefined {
  if (!MAC.test(mac)) return `${JSON.stringify(mac)} is not a MAC such as 52:54:00:12:34:56`;
  if (parseInt(mac.slice(0, 2), 16) & 1)
    return `${mac} is a multicast address; a NIC needs a unicast one (even first byte)`;
  if (mac === "00:00:00:00:00:00") return "00:00:00:00:00:00 is not a usable address";
  return undefined;
}
