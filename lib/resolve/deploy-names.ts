/**
 * Names the deploy targets cannot carry: every guest is a node of the flake's colmena hive, and
 * a host joins it under its own name, so neither may take a name colmena reserves for itself.
 */
import { type Problems, joinPath, show } from "../problems.ts";
import type { Identities } from "./unique.ts";

/** The hive's own attributes in colmena (`meta`, its alias `network`, `defaults`). */
export const COLMENA_RESERVED = ["meta", "network", "defaults"] as const;

/** Refuses guests and hosts named like one of colmena's reserved attributes. */
export function checkDeployNames(p: Problems, ids: Identities): void {
  const reserved = (name: string): boolean =>
    (COLMENA_RESERVED as readonly string[]).includes(name);
  for (const h of ids.hosts) {
    if (reserved(h.name)) {
      p.add(
        joinPath("hosts", h.name),
        `${show(h.name)} is reserved by colmena's hive; choose another name`,
      );
    }
  }
  for (const g of ids.guests) {
    if (reserved(g.name)) {
      p.add(g.path, `${show(g.name)} is reserved by colmena's hive; choose another name`);
    }
  }
}
