/** Validation problems: each names the field (`hosts.study.guests.alice.memory`) and the reason. */

/** One thing wrong with `hosts.ts`. */
export interface Problem {
  /** Where: `hosts.<host>.guests.<guest>.<field>`. */
  readonly path: string;
  /** What is wrong and what would be right. */
  readonly message: string;
}

/** Thrown when `hosts.ts` has problems; carries all of them. */
export class SpecError extends Error {
  override name = "SpecError";
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
  }
}

/** Collects problems while validation goes on, so every one is reported at once. */
export class Problems {
  readonly list: Problem[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

/** `hosts.study.guests.alice` style paths; names that are not identifiers are quoted. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base === "" ? key : `${base}.${key}`;
}

/** A value shown in a message: short, quoted, control characters visible. */
export function show(value: unknown): string {
  const s = typeof value === "string" ? JSON.stringify(value) : String(value);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
