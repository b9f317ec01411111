/**
 * The lexical rules of Nix (nix `src/libexpr/lexer.l`), applied exactly: identifiers, keywords,
 * attribute-name quoting, string escaping in both forms, number and path literals.
 * docs/design.md §3.2 states these rules and links their sources.
 */
import { NixDslError } from "./errors.ts";

/** Reserved words. `or` is accepted as an attribute name by Nix, but we quote it anyway. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "if",
  "then",
  "else",
  "assert",
  "with",
  "let",
  "in",
  "rec",
  "inherit",
  "or",
]);

/** True for a name usable as a variable or function formal. */
export function isIdentifier(name: string): boolean {
  // `[a-zA-Z_][a-zA-Z0-9_'-]*`, as a loop: this runs for every attribute name printed.
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
    if (letter) continue;
    if (i > 0 && ((c >= 48 && c <= 57) || c === 39 || c === 45)) continue;
    return false;
  }
  return n > 7 || !KEYWORDS.has(name);
}

/** Throws unless `name` is a valid identifier. */
export function checkIdentifier(name: string, what: string): string {
  if (!isIdentifier(name)) {
    throw new NixDslError(`${what} ${JSON.stringify(name)} is not a Nix identifier`);
  }
  return name;
}

/** Throws on a NUL byte, which no Nix string can hold. */
export function checkText(text: string): void {
  if (text.includes("\0")) throw new NixDslError("Nix strings cannot contain NUL bytes");
}

/** Characters `escapeDoubleQuoted` may change; text without them is returned as it is. */
const DOUBLE_QUOTED_SPECIAL = /[\\"\n\r\t$]/;
/** Characters `escapeIndentedLine` may change. */
const INDENTED_SPECIAL = /['\r$]/;

const DOLLAR = 36;
const BRACE = 123;
const QUOTE = 39;
const CR = 13;

/**
 * In both string forms the lexer reads `$$` as two literal dollars, so in a run of `$` before a
 * `{` only an odd run makes the last `$` start an interpolation. Escaping that last `$` (and only
 * it) keeps `$${` as written, like nixfmt does (its test `dollars-before-interpolation.nix`).
 * True when the `$` at `i` is that last one (`nextIsInterpolation`: a real `${` follows the text).
 */
function dollarNeedsEscape(text: string, i: number, nextIsInterpolation: boolean): boolean {
  const after = i + 1 < text.length ? text.charCodeAt(i + 1) : nextIsInterpolation ? BRACE : -1;
  if (after !== BRACE) return false;
  let run = 1;
  while (i - run >= 0 && text.charCodeAt(i - run) === DOLLAR) run++;
  return run % 2 === 1;
}

/**
 * Escape literal text for a `"…"` string. `nextIsInterpolation` tells whether a real `${`
 * follows (so a trailing odd run of `$` needs its last one escaped: `\$${x}`).
 */
export function escapeDoubleQuoted(text: string, nextIsInterpolation: boolean): string {
  checkText(text);
  // Most text has nothing to escape: no per-character work then.
  if (!DOUBLE_QUOTED_SPECIAL.test(text)) return text;
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    let rep: string;
    switch (text.charCodeAt(i)) {
      case 92:
        rep = "\\\\";
        break;
      case 34:
        rep = '\\"';
        break;
      case 10:
        rep = "\\n";
        break;
      case 13:
        rep = "\\r";
        break;
      case 9:
        rep = "\\t";
        break;
      case DOLLAR:
        if (!dollarNeedsEscape(text, i, nextIsInterpolation)) continue;
        rep = "\\$";
        break;
      default:
        continue;
    }
    out += text.slice(from, i) + rep;
    from = i + 1;
  }
  return out + text.slice(from);
}

/**
 * Escape one line of literal text for a `''…''` string (the line holds no newline).
 * `after` is what follows the text in the source: a real interpolation, the closing `''`,
 * or a line end. Escapes: `''` → `'''`; an odd run of `$` before `{` → its last `$` as `''$`;
 * a lone `'` whose next output character is `'` → `''\'` (the `'${` trap of rnix-parser#175).
 */
export function escapeIndentedLine(
  text: string,
  after: "interpolation" | "close" | "newline",
): string {
  checkText(text);
  if (!INDENTED_SPECIAL.test(text)) return text;
  const interpolation = after === "interpolation";
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let rep: string;
    let width = 1;
    if (c === QUOTE) {
      if (i + 1 < text.length && text.charCodeAt(i + 1) === QUOTE) {
        rep = "'''";
        width = 2;
      } else if (quoteFollows(text, i + 1, after)) {
        rep = "''\\'";
      } else continue;
    } else if (c === CR) {
      rep = "''\\r";
    } else if (c === DOLLAR && dollarNeedsEscape(text, i, interpolation)) {
      rep = "''$";
    } else continue;
    out += text.slice(from, i) + rep;
    from = i + width;
    i += width - 1;
  }
  return out + text.slice(from);
}

/** Does the escaped text from `j` (then what follows the line) start with a `'`? */
function quoteFollows(
  text: string,
  j: number,
  after: "interpolation" | "close" | "newline",
): boolean {
  if (j >= text.length) return after === "close";
  const c = text.charCodeAt(j);
  if (c === QUOTE || c === CR) return true;
  // A `$` is written `''$` only as the last of an odd run before `{`.
  return c === DOLLAR && dollarNeedsEscape(text, j, after === "interpolation");
}

/** An attribute name as source: bare when it is an identifier, else a `"…"` string. */
export function formatAttrName(name: string): string {
  return isIdentifier(name) ? name : `"${escapeDoubleQuoted(name, false)}"`;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Throws unless the integer fits Nix's 64-bit signed integers. */
export function checkInt(value: bigint): bigint {
  if (value > INT64_MAX || value < INT64_MIN) {
    throw new NixDslError(`integer ${value} does not fit in 64 bits, the range of Nix integers`);
  }
  return value;
}

/** The int64 minimum has no literal (there are no negative literals in Nix). */
export const INT64_MIN_VALUE = INT64_MIN;

/**
 * A non-negative finite float as a Nix float literal: always with a `.` (`1.0`, `1.0e+21`,
 * `5.0e-7`), because `1e21` lexes as the integer 1 applied to a variable `e21`.
 * JavaScript's shortest round-trip digits are kept, so the value reads back exactly.
 */
export function formatFloat(value: number): string {
  if (!Number.isFinite(value)) {
    throw new NixDslError(`${value} has no Nix literal (only finite floats do)`);
  }
  if (value < 0 || Object.is(value, -0)) {
    throw new NixDslError("formatFloat takes a non-negative float; negation is an operator");
  }
  const s = String(value);
  const [mantissa, exponent] = s.split("e") as [string, string | undefined];
  const m = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return exponent === undefined ? m : `${m}e${exponent}`;
}

const PATH_CHAR = "[a-zA-Z0-9._+-]";
const PATH = new RegExp(`^${PATH_CHAR}*(/${PATH_CHAR}+)+$`);

/**
 * The path as a literal if the Nix lexer reads it back as exactly this path, else undefined.
 * Relative paths must start with `./` or `../` (so `a/b` is written `./a/b` by the caller).
 */
export function pathLiteral(value: string): string | undefined {
  checkText(value);
  if (value === "/") return "/.";
  if (!(value.startsWith("/") || value.startsWith("./") || value.startsWith("../"))) {
    return undefined;
  }
  return PATH.test(value) ? value : undefined;
}
