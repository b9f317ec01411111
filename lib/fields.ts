/** Run-time shape checks for plain data from `hosts.ts`: objects, unknown fields, primitives. */
import { type Problems, joinPath, show } from "./problems.ts";

export type Obj = { readonly [key: string]: unknown };

export function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The fields of the spec type `T`, as validation knows them: `fieldList<GuestSpec>()(["memory",
 * …])` returns the list as given, and compiles only if it names every field of `T` and nothing
 * else. So a field added to a spec type cannot be forgotten by validation (it would be refused at
 * run time as unknown), nor can validation take a field the editor would flag. Curried because
 * TypeScript infers either all type arguments or none.
 */
export function fieldList<T>(): <const L extends readonly (keyof T & string)[]>(
  list: L & AllFieldsOf<T, L>,
) => L {
  return (list) => list;
}

/**
 * `unknown` (no constraint) when `L` names every field of `T`; otherwise an object type whose one
 * property names the missing fields, which is what the compiler's error then shows.
 */
export type AllFieldsOf<T, L extends readonly unknown[]> = [Missing<T, L>] extends [never]
  ? unknown
  : { readonly "fields missing from this list": Missing<T, L> };

type Missing<T, L extends readonly unknown[]> = Exclude<keyof T, L[number]>;

/**
 * The object at `path`, with unknown keys reported (with a suggestion), or undefined. Typed by
 * the known fields, so reading any other one is a compile error.
 */
export function object<K extends string>(
  p: Problems,
  value: unknown,
  path: string,
  known: readonly K[],
): { readonly [key in K]?: unknown } | undefined {
  if (!isPlainObject(value)) {
    p.add(path === "" ? "(default export)" : path, `must be an object, got ${describe(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if ((known as readonly string[]).includes(key)) continue;
    const near = closest(key, known);
    p.add(
      joinPath(path, key),
      `unknown field${near ? `; did you mean "${near}"?` : `; known fields: ${known.join(", ")}`}`,
    );
  }
  // Unknown keys are reported above; the caller reads only the known ones.
  return value as { readonly [key in K]?: unknown };
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `the string ${show(v)}`;
  if (typeof v === "number") return `the number ${v}`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** An integer in [min, max], or undefined after reporting. */
export function integer(
  p: Problems,
  value: unknown,
  path: string,
  min: number,
  max: number,
  what: string,
): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    p.add(path, `must be ${what}, a whole number from ${min} to ${max}; got ${describe(value)}`);
    return undefined;
  }
  if (!Number.isInteger(value)) {
    p.add(path, `${value} is not a whole number; use a whole number from ${min} to ${max}`);
    return undefined;
  }
  if (value < min || value > max) {
    p.add(path, `${value} is out of range; use ${what} from ${min} to ${max}`);
    return undefined;
  }
  return value;
}

export function string(p: Problems, value: unknown, path: string): string | undefined {
  if (typeof value === "string") return value;
  p.add(path, `must be a string, got ${describe(value)}`);
  return undefined;
}

export function boolean(p: Problems, value: unknown, path: string): boolean | undefined {
  if (typeof value === "boolean") return value;
  p.add(path, `must be true or false, got ${describe(value)}`);
  return undefined;
}

export function list(p: Problems, value: unknown, path: string): readonly unknown[] | undefined {
  if (Array.isArray(value)) return value as readonly unknown[];
  p.add(path, `must be a list, got ${describe(value)}`);
  return undefined;
}

/** The known name nearest to `key` (edit distance ≤ 2), for "did you mean". */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** Optimal string alignment distance (a transposition such as "memroy" counts as one edit). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
