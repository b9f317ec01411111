/**
 * The argument vector of a systemd Exec line as the runtime writes it
 * (`utils.escapeSystemdExecArgs`: each argument a JSON string, `%` as `%%` and `$` as `$$`,
 * separated by spaces). Tests run what a unit would run with exactly these arguments.
 */
export function parseExecLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " ") {
      i++;
      continue;
    }
    if (line[i] !== '"') throw new Error(`not an escaped Exec line at ${i}: ${line}`);
    // A JSON string ends at the first quote not escaped by a backslash.
    let j = i + 1;
    while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
    if (j >= line.length) throw new Error(`unterminated argument at ${i}: ${line}`);
    const json = JSON.parse(line.slice(i, j + 1)) as string;
    args.push(json.replaceAll("%%", "%").replaceAll("$$", "$"));
    i = j + 1;
  }
  return args;
}
