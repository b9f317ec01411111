/** A guest's shared host directories: their tags, host directories, mount points and protocol. */
import { boolean, fieldList, isPlainObject, object } from "../fields.ts";
import type { ResolvedShare } from "../model.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import type { ShareSpec } from "../spec.ts";
import { type MountPoints, isUnder, mountPoint, plainAbsolutePath } from "./paths.ts";

/** The fields of a share. */
export const SHARE_FIELDS = fieldList<ShareSpec>()([
  "source",
  "mountPoint",
  "readOnly",
  "protocol",
]);

const PROTOCOLS = ["virtiofs", "9p"] as const;

/**
 * virtio-fs carries the tag in a 36-byte field (virtio spec, "Device configuration layout"), and
 * the tag names the share's unit and socket directory: letters, digits, "_" and "-" (no ".",
 * which separates guest and tag in those names).
 */
export const MAX_TAG = 36;
const TAG = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_-]{0,${MAX_TAG - 1}}$`);

/** The shares of the guest at `guestPath`, or undefined after reporting their problems. */
export function resolveShares(
  p: Problems,
  value: unknown,
  guestPath: string,
  mounts: MountPoints,
): ResolvedShare[] | undefined {
  if (value === undefined) return [];
  const path = `${guestPath}.shares`;
  if (!isPlainObject(value)) {
    p.add(
      path,
      `must be an object of shares by tag, e.g. { media: { source: "/srv/media", mountPoint: "/media" } }`,
    );
    return undefined;
  }
  const before = p.list.length;
  const shares: ResolvedShare[] = [];
  for (const tag of Object.keys(value).sort()) {
    const spath = joinPath(path, tag);
    if (tag.length > MAX_TAG) {
      p.add(
        spath,
        `tag ${show(tag)} is ${tag.length} characters; virtiofs tags have at most ${MAX_TAG}`,
      );
    } else if (!TAG.test(tag)) {
      p.add(
        spath,
        `${show(tag)} is not a valid share tag: letters, digits, "_" and "-", starting with a letter or digit`,
      );
    }
    const s = object(p, value[tag], spath, SHARE_FIELDS);
    if (s === undefined) continue;
    let source: string | undefined;
    if (s.source === undefined)
      p.add(`${spath}.source`, `is missing; give the host directory such as "/srv/media"`);
    else {
      source = plainAbsolutePath(p, s.source, `${spath}.source`, "/srv/media");
      if (source !== undefined && isUnder(source, "/nix/store")) {
        p.add(
          `${spath}.source`,
          `${show(source)} is in the Nix store, which changes with every build; share a directory of its own such as "/srv/media"`,
        );
        source = undefined;
      }
    }
    let mount: string | undefined;
    if (s.mountPoint === undefined)
      p.add(`${spath}.mountPoint`, `is missing; give where the guest mounts it, such as "/media"`);
    else {
      mount = mountPoint(p, s.mountPoint, `${spath}.mountPoint`);
      if (mount !== undefined) mounts.claim(p, mount, `${spath}.mountPoint`);
    }
    const readOnly = s.readOnly === undefined ? false : boolean(p, s.readOnly, `${spath}.readOnly`);
    let protocol: ResolvedShare["protocol"] | undefined = "virtiofs";
    if (s.protocol !== undefined) {
      if ((PROTOCOLS as readonly unknown[]).includes(s.protocol))
        protocol = s.protocol as ResolvedShare["protocol"];
      else {
        p.add(`${spath}.protocol`, `must be "virtiofs" or "9p"; got ${show(s.protocol)}`);
        protocol = undefined;
      }
    }
    if (
      source !== undefined &&
      mount !== undefined &&
      readOnly !== undefined &&
      protocol !== undefined
    ) {
      shares.push({ tag, source, mountPoint: mount, readOnly, protocol });
    }
  }
  return p.list.length > before ? undefined : shares;
}
