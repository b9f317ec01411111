/**
 * From the attribute paths an emitted module defines to NixOS option names: attribute names that
 * the user chooses become `<name>` (as in the NixOS manual), and paths into options whose value
 * is a free-form attribute set (a unit's `serviceConfig`, a `.network` file's `matchConfig`) stop
 * at that option.
 */

/** Options of type `attrsOf …`: the next path element is a name, not an option. */
const NAMED: readonly (readonly string[])[] = [
  ["systemd", "services"],
  ["systemd", "network", "networks"],
  ["systemd", "network", "netdevs"],
  ["systemd", "network", "links"],
  ["users", "users"],
  ["users", "groups"],
  ["networking", "interfaces"],
  ["networking", "bridges"],
  ["fileSystems"],
  ["boot", "kernel", "sysctl"],
  ["environment", "etc"],
  ["_module", "args"],
  // The runtime's own (modules/vmflake/).
  ["vmflake", "guests"],
  ["vmflake", "installer", "offlineSystems"],
  ["vmflake", "hostCommand", "otherGuests"],
];

/**
 * Options of a named element whose value is a free-form set (unit-file settings, environment
 * variables): keys below them are not options.
 */
const FREE_FORM = new Set([
  "environment",
  "serviceConfig",
  "unitConfig",
  "matchConfig",
  "networkConfig",
  "linkConfig",
  "netdevConfig",
  "addressConfig",
  "routeConfig",
  "dhcpV4Config",
]);

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => path[i] === p);
}

/** The option path an attribute path sets, as a list (`["systemd","services","<name>",…]`). */
export function optionPathOf(path: readonly string[]): string[] {
  const out = [...path];
  // Longest prefix first (no prefix in NAMED is a prefix of another today; keep it that way).
  const named = [...NAMED].sort((a, b) => b.length - a.length).find((p) => startsWith(out, p));
  if (named === undefined || out.length <= named.length) return out;
  out[named.length] = "<name>";
  const freeForm = out.findIndex((p, i) => i > named.length && FREE_FORM.has(p));
  return freeForm >= 0 ? out.slice(0, freeForm + 1) : out;
}

/** The option name as the fixture spells it: `systemd.services.<name>.serviceConfig`. */
export function optionName(path: readonly string[]): string {
  return optionPathOf(path).join(".");
}

/** Every attribute path (as a dotted option-like name) that a `config` value of the hosts file sets. */
export function configPaths(value: unknown, prefix: readonly string[] = []): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return [prefix.join(".")];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix.join(".")];
  return entries.flatMap(([k, v]) => configPaths(v, [...prefix, k]));
}
