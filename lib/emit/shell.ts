/** Shell words for generated scripts. */

const SAFE = /^[A-Za-z0-9_./:=,@%+-]+$/;

/** `word` as one shell word: bare when it holds only safe characters, else single-quoted. */
export function shellWord(word: string): string {
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * An argument list laid out one option per line (`-flag value \`), for readable QEMU command
 * lines in unit scripts.
 */
export function shellLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith("-") && next !== undefined && !next.startsWith("-")) {
      lines.push(`${shellWord(a)} ${shellWord(next)}`);
      i++;
    } else lines.push(shellWord(a));
  }
  return lines;
}
