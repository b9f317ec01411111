/**
 * What `switch-to-configuration switch` does to the running units when a host moves from one
 * generation to the next, computed from the two generations' rendered unit texts: a model of
 * nixpkgs' switch-to-configuration-ng (pkgs/by-name/sw/switch-to-configuration-ng/src/main.rs:
 * `compare_units`, `handle_modified_unit`, the handling of targets and removed units, and the
 * restart of sysinit-reactivation.target), with every unit of the old generation taken as active
 * (a running host). And which units a switch stopping or restarting some units takes down with
 * them, by the dependencies systemd propagates stops and restarts along.
 */

/** A unit as switch-to-configuration parses it: section → key → values, without [Install]. */
export type UnitInfo = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** Parses a unit text; an empty value clears the key's earlier values, as systemd does. */
export function parseUnit(text: string): UnitInfo {
  const out = new Map<string, Map<string, string[]>>();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const name = header[1]!;
      if (name === "Install") section = undefined;
      else {
        section = out.get(name) ?? new Map();
        out.set(name, section);
      }
      continue;
    }
    const eq = line.indexOf("=");
    if (section === undefined || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value === "") section.set(key, []);
    else section.set(key, [...(section.get(key) ?? []), value]);
  }
  return out;
}

/** A boolean setting (systemd's spellings), or `fallback` when unset. */
export function unitBool(u: UnitInfo, section: string, key: string, fallback: boolean): boolean {
  const v = u.get(section)?.get(key);
  const last = v?.[v.length - 1];
  if (last === undefined) return fallback;
  return ["1", "yes", "true", "on"].includes(last);
}

/** The unit names listed under `key` in [Unit] (space-separated, several lines). */
export function unitList(u: UnitInfo, key: string): string[] {
  return (u.get("Unit")?.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((x) => x !== "");
}

/** [Unit] keys whose change alone never restarts a unit. */
const UNIT_SECTION_IGNORES = new Set([
  "X-Reload-Triggers",
  "Description",
  "Documentation",
  "OnFailure",
  "OnSuccess",
  "OnFailureJobMode",
  "IgnoreOnIsolate",
  "StopWhenUnneeded",
  "RefuseManualStart",
  "RefuseManualStop",
  "AllowIsolate",
  "CollectMode",
  "SourcePath",
]);

export type Comparison = "equal" | "reload" | "restart";

const sameValues = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** switch-to-configuration's `compare_units`. */
export function compareUnits(cur: UnitInfo, next: UnitInfo): Comparison {
  let ret: Comparison = "equal";
  const newSections = new Set(next.keys());
  for (const [section, curKeys] of cur) {
    const nextKeys = next.get(section);
    if (nextKeys === undefined) {
      if (section === "Unit") {
        if ([...curKeys.keys()].some((k) => !UNIT_SECTION_IGNORES.has(k))) return "restart";
        continue;
      }
      if (section === "Service" && curKeys.size === 1 && curKeys.has("ExecReload")) continue;
      return "restart";
    }
    newSections.delete(section);
    const added = new Set(nextKeys.keys());
    for (const [key, curValue] of curKeys) {
      added.delete(key);
      const nextValue = nextKeys.get(key);
      if (nextValue === undefined) {
        if (section === "Unit" && UNIT_SECTION_IGNORES.has(key)) continue;
        if (section === "Service" && key === "ExecReload") continue;
        return "restart";
      }
      if (!sameValues(curValue, nextValue)) {
        if (section === "Unit" && key === "X-Reload-Triggers") {
          ret = "reload";
          continue;
        }
        if (section === "Unit" && UNIT_SECTION_IGNORES.has(key)) continue;
        if (section === "Service" && key === "ExecReload") {
          ret = "reload";
          continue;
        }
        if (section === "Mount" && key === "Options") {
          ret = "reload";
          continue;
        }
        return "restart";
      }
    }
    if (added.size > 0) {
      if (section === "Unit") {
        for (const key of added) {
          if (key === "X-Reload-Triggers") ret = "reload";
          else if (!UNIT_SECTION_IGNORES.has(key)) return "restart";
        }
      } else if (section === "Service" && added.size === 1 && added.has("ExecReload")) {
        ret = "reload";
      } else return "restart";
    }
  }
  if (newSections.size > 0) {
    if (newSections.size !== 1) return "restart";
    const [section] = [...newSections];
    const keys = next.get(section!)!;
    if (section === "Unit") {
      for (const key of keys.keys()) {
        if (!UNIT_SECTION_IGNORES.has(key)) return "restart";
        if (key === "X-Reload-Triggers") ret = "reload";
      }
    } else if (section === "Service") {
      if (keys.size === 1 && keys.has("ExecReload")) ret = "reload";
      else return "restart";
    } else return "restart";
  }
  return ret;
}

/**
 * What the switch does to a unit: `stop` (stopped, perhaps started again later: either way the
 * running unit goes down), `restart`, `reload`, `start` (an active target started again, a no-op
 * for what runs), or `skip` (changed, but left running as it is).
 */
export type Action = "stop" | "restart" | "reload" | "start" | "skip";

export interface Step {
  readonly action: Action;
  /** Why, in switch-to-configuration's terms. */
  readonly why: string;
}

/** Units that take down what depends on them. */
export const TAKES_DOWN: ReadonlySet<Action> = new Set(["stop", "restart"]);

const SPECIAL_TARGETS = new Set([
  "sysinit.target",
  "basic.target",
  "multi-user.target",
  "graphical.target",
]);

function cannotBeRestartedDirectly(unit: string): boolean {
  return SPECIAL_TARGETS.has(unit) || unit.endsWith(".path") || unit.endsWith(".slice");
}

/** `handle_modified_unit`, for a unit whose comparison says it needs a restart. */
function modifiedUnit(
  unit: string,
  next: UnitInfo,
  old: { readonly [unit: string]: string },
  plan: Map<string, Step>,
): void {
  if (cannotBeRestartedDirectly(unit)) return;
  if (unit.endsWith(".mount")) {
    if (unit === "-.mount" || unit === "nix.mount") {
      plan.set(unit, { action: "reload", why: "changed; / and /nix are only remounted" });
    } else plan.set(unit, { action: "restart", why: "changed mount" });
    return;
  }
  if (unit.endsWith(".socket")) return;
  if (unitBool(next, "Service", "X-ReloadIfChanged", false)) {
    plan.set(unit, { action: "reload", why: "changed, X-ReloadIfChanged=true" });
    return;
  }
  if (
    !unitBool(next, "Service", "X-RestartIfChanged", true) ||
    unitBool(next, "Unit", "RefuseManualStop", false) ||
    unitBool(next, "Unit", "X-OnlyManualStart", false)
  ) {
    plan.set(unit, {
      action: "skip",
      why: "changed, but X-RestartIfChanged=false (or RefuseManualStop, X-OnlyManualStart)",
    });
    return;
  }
  if (!unitBool(next, "Service", "X-StopIfChanged", true) || !unit.endsWith(".service")) {
    plan.set(unit, { action: "restart", why: "changed, X-StopIfChanged=false" });
    return;
  }
  plan.set(unit, { action: "stop", why: "changed: stopped with the old unit, then started" });
  // A socket-activated service: its sockets go down and up with it.
  const declared = (next.get("Service")?.get("Sockets") ?? []).flatMap((v) => v.split(/\s+/));
  const base = unit.replace(/@?\.service$/, "");
  for (const socket of declared.length > 0 ? declared : [`${base}.socket`]) {
    if (old[socket] !== undefined && !plan.has(socket)) {
      plan.set(socket, { action: "stop", why: `the socket of ${unit}, which is stopped` });
    }
  }
}

/**
 * The switch from the generation with units `old` to the one with units `next` (unit name →
 * rendered text): the action on every unit it touches. Units it leaves alone are absent.
 */
export function planSwitch(
  old: { readonly [unit: string]: string },
  next: { readonly [unit: string]: string },
): Map<string, Step> {
  const plan = new Map<string, Step>();
  for (const [unit, oldText] of Object.entries(old)) {
    const nextText = next[unit];
    const cur = parseUnit(oldText);
    if (nextText === undefined) {
      if (unitBool(cur, "Unit", "X-StopOnRemoval", true)) {
        plan.set(unit, { action: "stop", why: "removed" });
      }
      continue;
    }
    const n = parseUnit(nextText);
    if (unit.endsWith(".target") && !SPECIAL_TARGETS.has(unit)) {
      // Every active target is started again; those with X-StopOnReconfiguration are stopped first.
      if (unitBool(n, "Unit", "X-StopOnReconfiguration", false)) {
        plan.set(unit, { action: "stop", why: "a target with X-StopOnReconfiguration=true" });
      } else if (
        !unitBool(n, "Unit", "RefuseManualStart", false) &&
        !unitBool(n, "Unit", "X-OnlyManualStart", false)
      ) {
        plan.set(unit, { action: "start", why: "an active target, started again" });
      }
      continue;
    }
    const c = compareUnits(cur, n);
    if (c === "reload" && !plan.has(unit)) {
      plan.set(unit, { action: "reload", why: "only X-Reload-Triggers or ExecReload changed" });
    } else if (c === "restart") modifiedUnit(unit, n, old, plan);
  }
  // Restarted on every switch (it exists to restart the units ordered before sysinit.target).
  if (next["sysinit-reactivation.target"] !== undefined) {
    plan.set("sysinit-reactivation.target", {
      action: "restart",
      why: "restarted by every switch",
    });
  }
  return plan;
}

/**
 * Dependencies along which systemd stops or restarts a unit when another one goes down: a unit
 * listing X under one of these (in [Unit]) is stopped (or restarted) with X.
 */
export const STOP_PROPAGATING = [
  "Requires",
  "Requisite",
  "BindsTo",
  "PartOf",
  "StopPropagatedFrom",
];

export interface Reached {
  readonly unit: string;
  /** The chain from the start unit, e.g. `["qemu-guest-a.service", "PartOf", "x.service"]`. */
  readonly path: readonly string[];
}

/**
 * Every unit whose stop or restart would take `start` down: the units reached from it along
 * STOP_PROPAGATING dependencies (transitively), and back along PropagatesStopTo=, in any of the
 * given generations (the stop phase of a switch runs with the old units, the restarts with the
 * new ones). The start unit itself is included.
 */
export function reachFrom(
  start: string,
  generations: readonly { readonly [unit: string]: string }[],
): Reached[] {
  const parsed = generations.map((g) =>
    Object.fromEntries(Object.entries(g).map(([n, t]) => [n, parseUnit(t)])),
  );
  const seen = new Map<string, Reached>([[start, { unit: start, path: [start] }]]);
  const queue = [start];
  while (queue.length > 0) {
    const u = queue.shift()!;
    const here = seen.get(u)!;
    const edges: [string, string][] = [];
    for (const g of parsed) {
      const info = g[u];
      if (info !== undefined) {
        for (const k of STOP_PROPAGATING) for (const d of unitList(info, k)) edges.push([k, d]);
      }
      for (const [other, o] of Object.entries(g)) {
        if (unitList(o, "PropagatesStopTo").includes(u)) edges.push(["<-PropagatesStopTo", other]);
      }
    }
    for (const [k, d] of edges) {
      if (seen.has(d)) continue;
      seen.set(d, { unit: d, path: [...here.path, k, d] });
      queue.push(d);
    }
  }
  return [...seen.values()];
}

/** A unit that `start` depends on (or `start` itself) which the switch stops or restarts. */
export interface TakenDown extends Reached {
  readonly step: Step;
}

/** The units reached from `start` that the switch from `old` to `next` stops or restarts. */
export function takenDownWith(
  start: string,
  old: { readonly [unit: string]: string },
  next: { readonly [unit: string]: string },
): TakenDown[] {
  const plan = planSwitch(old, next);
  return reachFrom(start, [old, next]).flatMap((r) => {
    const step = plan.get(r.unit);
    return step !== undefined && TAKES_DOWN.has(step.action) ? [{ ...r, step }] : [];
  });
}

/** One line per taken-down unit: `a.service -PartOf-> b.service: restart (why)`. */
export function describeTakenDown(t: TakenDown): string {
  const chain = t.path
    .map((p, i) => (i % 2 === 1 ? ` -${p}-> ` : p))
    .join("")
    .replace(/ -<-PropagatesStopTo-> /g, " <-PropagatesStopTo- ");
  return `${chain}: ${t.step.action} (${t.step.why})`;
}
