/** Derived and checked values: sizes, MACs, ssh keys, systemd unit names. */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deriveMac, macProblem } from "../../lib/mac.ts";
import { defaultTap, netDeviceUnit } from "../../lib/names.ts";
import { formatSize, parseSize } from "../../lib/sizes.ts";
import { sshKeyProblem } from "../../lib/ssh-keys.ts";
import { parseExecLine } from "../support/exec-line.ts";
import { evalJson, nixPath, STAND_IN_NIXPKGS } from "../support/nix.ts";
import { tempDir } from "../support/temp.ts";
import { describeWith, hasTool, toolsPresent } from "../support/tools.ts";

describe("sizes", () => {
  it.each([
    ["512M", 512n << 20n],
    ["4G", 4n << 30n],
    ["1T", 1n << 40n],
    ["131072K", 128n << 20n],
    ["99999999999T", 99999999999n << 40n],
  ])("%s is %d bytes", (s, bytes) => {
    expect(parseSize(s)).toEqual({ bytes });
  });
  it.each(["1gb", "1.5G", "G", "", " 1G", "1G ", "-1G", "0x10G", "1e3M", "1g"])(
    "%j is refused",
    (s) => {
      expect(parseSize(s)).toHaveProperty("error");
    },
  );
  it("formats back", () => {
    expect(formatSize(40n << 30n)).toBe("40G");
    expect(formatSize(1536n << 20n)).toBe("1536M");
  });
});

describe("MACs", () => {
  it("are derived from SHA-256 of host/guest, as sha256sum computes it", () => {
    for (const [host, guest] of [
      ["study", "alice"],
      ["lab", "a-long-guest-name"],
    ] as const) {
      const hex = execFileSync("sha256sum", { input: `${host}/${guest}`, encoding: "utf8" }).slice(
        0,
        6,
      );
      expect(deriveMac(host, guest)).toBe(
        `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
      );
    }
  });
  it("are unicast, locally administered QEMU addresses", () => {
    expect(macProblem(deriveMac("study", "alice"))).toBeUndefined();
    expect(macProblem("01:00:5e:00:00:01")).toMatch(/multicast/);
    expect(macProblem("52:54:00:00:00")).toMatch(/not a MAC/);
  });
});

describe("ssh keys", () => {
  const dir = tempDir();
  const keygen = toolsPresent(["ssh-keygen"]);
  it.runIf(keygen).each(["ed25519", "rsa", "ecdsa"])(
    "a real %s public key is accepted, its private key refused",
    (type) => {
      const file = join(dir, `id_${type}`);
      execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "test@vmflake", "-f", file]);
      expect(sshKeyProblem(readFileSync(`${file}.pub`, "utf8").trim())).toBeUndefined();
      const priv = readFileSync(file, "utf8");
      const why = sshKeyProblem(priv);
      expect(why).toMatch(/PRIVATE key/);
      expect(why).not.toContain(priv.split("\n")[1]!.slice(0, 20));
    },
  );
  it.each([
    ["ssh-ed25519", /not base64/],
    ["ssh-ed25519 AAAA", /too short|not/],
    ["ssh-dss AAAAB3NzaC1kc3MAAACBAP== x", /known key type/],
    [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKvsVxkaxaHgMKOHSr4umvYwt/M7HB/wiTSSkg2TVF9a x\ny",
      /one line/,
    ],
  ])("%j is refused", (key, message) => {
    expect(sshKeyProblem(key)).toMatch(message);
  });
});

describe("names", () => {
  it.runIf(toolsPresent(["systemd-escape"])).each(["tap0", "vm-alice", "vm-a.b", "vm_x"])(
    "the device unit of %s is named as systemd-escape names it",
    (ifname) => {
      const escaped = execFileSync("systemd-escape", ["--path", ifname], {
        encoding: "utf8",
      }).trim();
      expect(netDeviceUnit(ifname)).toBe(`sys-subsystem-net-devices-${escaped}.device`);
    },
  );
  it("default taps fit in 15 characters and stay stable", () => {
    expect(defaultTap("alice")).toBe("vm-alice");
    const long = defaultTap("a-very-long-guest-name");
    expect(long).toMatch(/^vm-[0-9a-f]{8}$/);
    expect(defaultTap("a-very-long-guest-name")).toBe(long);
  });
});

// Exec lines: the runtime writes every Exec* line with utils.escapeSystemdExecArgs (each argument a
// JSON string, `%` and `$` doubled); tests read them back with parseExecLine.
describeWith(["nix-instantiate"], "Exec lines (utils.escapeSystemdExecArgs, parseExecLine)", () => {
  const WORDS = [
    "plain",
    "it's",
    "a b",
    '"q"',
    "back\\slash",
    "trailing\\",
    "\\n",
    "new\nline",
    "tab\there",
    "",
    "$HOME",
    "$$",
    "${x}",
    "''${x}",
    "$(reboot)",
    "`x`",
    "%n",
    "%%",
    "100%",
    "a;b",
    "é ü",
    "\u0001",
  ];
  const dir = tempDir("vmflake-exec-line-");
  const wordsFile = join(dir, "words.json");
  writeFileSync(wordsFile, JSON.stringify(WORDS));
  const words = `(builtins.fromJSON (builtins.readFile (/. + ${nixPath(wordsFile)})))`;

  /**
   * Through the stand-in's NixOS: a module's `utils` argument writes the lines, as the runtime's
   * does: one line of all the words, and one line per word.
   */
  const standIn = (): { all: string; each: string[] } => {
    const c = evalJson<{ ExecStart: string; ExecStartPre: string[] }>(`let
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      words = ${words};
      probe = { utils, ... }: {
        systemd.services.probe.serviceConfig = {
          ExecStart = utils.escapeSystemdExecArgs words;
          ExecStartPre = map (w: utils.escapeSystemdExecArgs [ w ]) words;
        };
      };
    in (nixpkgs.lib.nixosSystem { modules = [ probe ]; }).config.systemd.services.probe.serviceConfig`);
    return { all: c.ExecStart, each: c.ExecStartPre };
  };

  it("hostile strings come back unchanged, alone and together", () => {
    const { all, each } = standIn();
    expect(parseExecLine(all)).toEqual(WORDS);
    expect(each.map((line) => parseExecLine(line))).toEqual(WORDS.map((w) => [w]));
    // What systemd would otherwise expand is doubled: no specifier, no variable.
    expect(each[WORDS.indexOf("%n")]).toBe('"%%n"');
    expect(each[WORDS.indexOf("$HOME")]).toBe('"$$HOME"');
    expect(each[WORDS.indexOf("")]).toBe('""');
  });

  const nixpkgs = process.env.NIXPKGS;
  it.runIf(nixpkgs !== undefined)("the stand-in's lines are nixpkgs' own (NIXPKGS)", () => {
    const real = evalJson<string[]>(`let
      root = /. + ${nixPath(nixpkgs ?? "")};
      utils = import (root + "/nixos/lib/utils.nix") { lib = import (root + "/lib"); config = { }; pkgs = { }; };
    in map (w: utils.escapeSystemdExecArgs [ w ]) ${words}`);
    expect(standIn().each).toEqual(real);
  });

  /**
   * systemd's own reading of a line's first word (systemd-analyze verify parses the unit as the
   * manager would and names the executable it found, unquoted and with specifiers resolved). `$`
   * is left out: systemd substitutes variables only in the arguments, at run time.
   */
  const systemd = hasTool("systemd-analyze");
  if (!systemd)
    console.warn("SKIPPED: systemd-analyze is missing; Exec lines not checked by systemd");
  it.runIf(systemd)(
    "systemd reads each word as parseExecLine does (systemd-analyze verify)",
    () => {
      const prefix = join(dir, "x");
      const checked = WORDS.filter((w) => !w.includes("$"));
      const lines = evalJson<string[]>(`let
      nixpkgs = import (/. + ${nixPath(STAND_IN_NIXPKGS)}) { };
      words = builtins.filter (w: builtins.match ".*[$].*" w == null) ${words};
      probe = { utils, ... }: {
        systemd.services.probe.serviceConfig.ExecStartPre =
          map (w: utils.escapeSystemdExecArgs [ (${JSON.stringify(prefix)} + w) "argument" ]) words;
      };
    in (nixpkgs.lib.nixosSystem { modules = [ probe ]; }).config.systemd.services.probe.serviceConfig.ExecStartPre`);
      expect(lines).toHaveLength(checked.length);
      const read = lines.map((line, i) => {
        const unit = join(dir, `probe${i}.service`);
        writeFileSync(unit, `[Service]\nType=oneshot\nExecStart=${line}\n`);
        const r = spawnSync("systemd-analyze", ["verify", "--man=no", unit], { encoding: "utf8" });
        const said = `${r.stdout}${r.stderr}`;
        const m =
          /(?:Executable name contains special characters|Executable path specifies a directory): (.*)\n[^\n]*Unit configuration has fatal error/s.exec(
            said,
          ) ?? /Command (.*) is not executable: /s.exec(said);
        if (m === null)
          throw new Error(`systemd-analyze named no executable for ${line}:\n${said}`);
        return m[1];
      });
      expect(read).toEqual(lines.map((line) => parseExecLine(line)[0]));
      expect(read).toEqual(checked.map((w) => prefix + w));
    },
  );
});
