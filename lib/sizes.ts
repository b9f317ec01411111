/** Sizes such as `512M` or `4G` (IEC: powers of 1024), parsed exactly with bigint. */

const UNITS: Readonly<Record<string, bigint>> = {
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
};

/** Bytes of a size string, or an explanation of why it is not one. */
export function parseSize(value: unknown): { bytes: bigint } | { error: string } {
  if (typeof value !== "string") return { error: `must be a size string such as "512M" or "4G"` };
  const m = /^([0-9]+)([KMGT])$/.exec(value);
  if (m === null) {
    return {
      error: `${JSON.stringify(value)} is not a size such as 512M, 4G or 1T (a whole number and K, M, G or T)`,
    };
  }
  const n = BigInt(m[1]!);
  if (n === 0n) return { error: `${JSON.stringify(value)} is zero` };
  return { bytes: n * UNITS[m[2]!]! };
}

/** A byte count for people: `40G`, `1536M`. */
export function formatSize(bytes: bigint): string {
  for (const unit of ["T", "G", "M", "K"] as const) {
    const u = UNITS[unit]!;
    if (bytes % u === 0n) return `${bytes / u}${unit}`;
  }
  return `${bytes}B`;
}
