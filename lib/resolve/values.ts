/** Checks of single values that hosts and guests share: names, interface names, ssh keys. */
import { list, string } from "../fields.ts";
import { HOSTNAME, IFNAME } from "../names.ts";
import { type Problems, joinPath, show } from "../problems.ts";
import { sshKeyProblem } from "../ssh-keys.ts";

/** Why `name` cannot be a host's or guest's name (both are hostnames), or undefined. */
export function hostnameProblem(name: string, what: string): string | undefined {
  if (HOSTNAME.test(name)) return undefined;
  return `${show(name)} is not a valid ${what} name: use a lowercase DNS label (a–z, 0–9 and inner "-", starting with a letter, at most 63 characters)`;
}

/** A Linux interface name (`what` names it in messages), or undefined after reporting. */
export function ifname(
  p: Problems,
  value: unknown,
  path: string,
  what: string,
): string | undefined {
  const s = string(p, value, path);
  if (s === undefined) return undefined;
  if (s.length > 15) {
    p.add(path, `${show(s)} is ${s.length} characters; Linux interface names have at most 15`);
    return undefined;
  }
  if (!IFNAME.test(s)) {
    p.add(
      path,
      `${show(s)} is not a valid ${what} name: 1–15 characters from letters, digits, "_", "." and "-", not starting with a symbol`,
    );
    return undefined;
  }
  return s;
}

/** The valid public keys of an optional list; each bad one is reported at its index. */
export function sshKeys(p: Problems, value: unknown, path: string): string[] {
  if (value === undefined) return [];
  const keys: string[] = [];
  list(p, value, path)?.forEach((k, i) => {
    const why = sshKeyProblem(k);
    if (why) p.add(joinPath(path, i), why);
    else keys.push(k as string);
  });
  return keys;
}
