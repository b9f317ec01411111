/**
 * `stateVersion`, on a host (the default for its guests) or a guest. vmflake has none of its
 * own: the value fixes the on-disk formats of stateful services, so a default of vmflake's would
 * change on installed guests whenever vmflake is upgraded.
 */
import { describe } from "../fields.ts";
import { type Problems, show } from "../problems.ts";

/** NixOS release names: a two-digit year and the month of the release, May or November. */
const RELEASE = /^[0-9]{2}\.(05|11)$/;

/** A NixOS release name for `system.stateVersion`, or undefined after reporting. */
export function stateVersion(p: Problems, value: unknown, path: string): string | undefined {
  if (typeof value !== "string") {
    p.add(
      path,
      `must be a NixOS release name as a string, such as "26.05", got ${describe(value)}`,
    );
    return undefined;
  }
  if (!RELEASE.test(value)) {
    p.add(
      path,
      `${show(value)} is not a NixOS release name: those are "YY.05" and "YY.11", such as "26.05"`,
    );
    return undefined;
  }
  return value;
}

/** Said where a guest's state version is missing: where to set it, and why there is no default. */
export function stateVersionMissing(hostPath: string): string {
  return `is missing; set it here or in ${hostPath}.stateVersion to the NixOS release the guest is first installed with, such as "26.05", and keep it. There is no default: it fixes the on-disk formats of stateful services such as PostgreSQL, which must never change behind your back when vmflake is upgraded`;
}
