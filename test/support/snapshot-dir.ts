/** Every file under a directory with its content, to prove that nothing was touched. */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** `skip` names entries (files or folders, at any depth) left out, such as `node_modules`. */
export function snapshotDir(root: string, skip: readonly string[] = []): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      if (skip.includes(entry)) continue;
      const full = join(dir, entry);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else files[relative(root, full)] = `${st.mtimeMs} ${readFileSync(full, "utf8")}`;
    }
  };
  walk(root);
  return files;
}
