/**
 * Integration tests need real tools (nix-instantiate, qemu, shellcheck, ip …). When one is
 * missing the test is skipped with a visible reason; with REQUIRE_INTEGRATION=1 (set by .ci/run)
 * a missing tool fails the run instead, so CI can never pass by skipping.
 */
import { execFileSync } from "node:child_process";
import { describe } from "vitest";

const cache = new Map<string, boolean>();

/** True when `name` is an executable on PATH (or an absolute path that exists). */
export function hasTool(name: string): boolean {
  let found = cache.get(name);
  if (found === undefined) {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { stdio: "ignore" });
      found = true;
    } catch {
      found = false;
    }
    cache.set(name, found);
  }
  return found;
}

/** True when the tests run as root (network namespaces need it). */
export const isRoot = process.getuid?.() === 0;

/** True when every tool is present; otherwise explains, or throws under REQUIRE_INTEGRATION=1. */
export function toolsPresent(tools: readonly string[], extra?: { root?: boolean }): boolean {
  const missing = tools.filter((t) => !hasTool(t));
  if (extra?.root && !isRoot) missing.push("(root privileges)");
  if (missing.length === 0) return true;
  const reason = `missing ${missing.join(", ")}`;
  if (process.env.REQUIRE_INTEGRATION === "1") {
    throw new Error(`REQUIRE_INTEGRATION=1 but ${reason}`);
  }
  console.warn(`SKIPPED (integration): ${reason}`);
  return false;
}

/** A `describe` block that runs only when the given tools are present. */
export function describeWith(
  tools: readonly string[],
  name: string,
  body: () => void,
  extra?: { root?: boolean },
): void {
  const ok = toolsPresent(tools, extra);
  describe.runIf(ok)(ok ? name : `${name} [skipped: needs ${tools.join(", ")}]`, body);
}

/** Environment for Nix 2.8 from Debian: flakes on, no sandbox, no build users, offline. */
export const nixEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NIX_CONFIG: [
    "experimental-features = nix-command flakes",
    "sandbox = false",
    "build-users-group =",
    "substituters =",
  ].join("\n"),
};
