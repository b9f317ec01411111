/**
 * Network namespaces for the network tests. Every command here is scoped to a namespace the test
 * created (`ip -n <ns> …`), so the machine's own interfaces are never touched.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** Every namespace a test creates is named `vmflake-test-<random>`. */
export const NETNS_PREFIX = "vmflake-test-";

/** Outcome of a command that is allowed to fail. */
export interface Attempt {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args…`; never throws on a non-zero exit. */
export function attempt(cmd: string, args: readonly string[], input?: string): Attempt {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    ...(input === undefined ? { stdio: ["ignore", "pipe", "pipe"] } : { input }),
  });
  if (r.error) throw r.error;
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `cmd args…` and returns its stdout; throws with the command line and stderr. */
export function run(cmd: string, args: readonly string[], input?: string): string {
  const r = attempt(cmd, args, input);
  if (!r.ok) throw new Error(`${[cmd, ...args].join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

/** A network namespace created by {@link createNetns}. */
export interface Netns {
  readonly name: string;
  /** `ip -n <ns> args…`; throws on failure. */
  ip(...args: string[]): string;
  /** `ip -n <ns> args…`, allowed to fail. */
  tryIp(...args: string[]): Attempt;
  /** `ip -n <ns> -j args…`, parsed. */
  ipJson<T>(...args: string[]): T;
  /** `bridge -n <ns> -j args…`, parsed. */
  bridgeJson<T>(...args: string[]): T;
  /** `ip -n <ns> -batch -` with one command per line (`link add …`, `tuntap add …`). */
  batch(lines: readonly string[]): Attempt;
  /** Argument-vector prefix that runs a program inside the namespace. */
  readonly exec: readonly string[];
  /** Deletes the namespace and with it every interface in it; idempotent. */
  remove(): void;
}

/** `ip -j` prints nothing (not `[]`) for an empty list in some versions. */
function parseJson<T>(text: string): T {
  return JSON.parse(text.trim() === "" ? "[]" : text) as T;
}

/** Creates `vmflake-test-<random><suffix>`. */
export function createNetns(suffix = ""): Netns {
  const name = `${NETNS_PREFIX}${randomBytes(4).toString("hex")}${suffix}`;
  run("ip", ["netns", "add", name]);
  let removed = false;
  return {
    name,
    ip: (...args) => run("ip", ["-n", name, ...args]),
    tryIp: (...args) => attempt("ip", ["-n", name, ...args]),
    ipJson: <T>(...args: string[]) => parseJson<T>(run("ip", ["-n", name, "-j", ...args])),
    bridgeJson: <T>(...args: string[]) => parseJson<T>(run("bridge", ["-n", name, "-j", ...args])),
    batch: (lines) => attempt("ip", ["-n", name, "-batch", "-"], `${lines.join("\n")}\n`),
    exec: ["ip", "netns", "exec", name],
    remove: () => {
      if (removed) return;
      const r = attempt("ip", ["netns", "del", name]);
      if (!r.ok && !/No such file/.test(r.stderr)) {
        throw new Error(`ip netns del ${name} failed:\n${r.stderr}`);
      }
      removed = true;
    },
  };
}

/** True when a namespace of that name exists. */
export function netnsExists(name: string): boolean {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .some((line) => line.split(" ")[0] === name);
}

/** One line of `ip -j link show`. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  master?: string;
  address: string;
  operstate: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { type?: string; user?: string; group?: string; persist?: boolean };
    info_slave_kind?: string;
  };
}

/** One line of `bridge -j link`. */
export interface BridgePort {
  ifname: string;
  master: string;
  state: string;
}

/** One line of `bridge -j fdb show`. */
export interface FdbEntry {
  mac: string;
  ifname: string;
  master?: string;
  state?: string;
  flags?: string[];
}
