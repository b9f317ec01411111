/**
 * The lexical rules of Nix (nix `src/libexpr/lexer.l`), applied exactly: identifiers, keywords,
 * attribute-name quoting, string escaping in both forms, number and path literals.
 * docs/design.md §3.2 states these rules and links their sources.
 */
import { NixDslError } from "./errors.ts";

const IDENT = /^[a-zA-Z_][a-zA-Z0-9_'-]*$/;

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
  return IDENT.test(name) && !KEYWORDS.has(name);
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

/**
 * In both string forms the lexer reads `$$` as two literal dollars, so in a run of `$` before a
 * `{` only an odd run makes the last `$` start an interpolation. Escaping that last `$` (and only
 * it) keeps `$${` as written, like nixfmt does (its test `dollars-before-interpolation.nix`).
 * `escape` is the escaped form of that `$`; the result is a list of source tokens.
 */
function escapeDollarRuns(tokens: string[], dollarEscape: string): void {
  let run = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "$") {
      run++;
      continue;
    }
    if (t === "{" && run % 2 === 1) tokens[i - 1] = dollarEscape;
    run = 0;
  }
}

/** Characters `escapeDoubleQuoted` may change; text without them is returned as it is. */
const DOUBLE_QUOTED_SPECIAL = /[\\"\n\r\t$]/;
/** Characters `escapeIndentedLine` may change. */
const INDENTED_SPECIAL = /['\r$]/;

/**
 * Escape literal text for a `"…"` string. `nextIsInterpolation` tells whether a real `${`
 * follows (so a trailing odd run of `$` needs its last one escaped: `\$${x}`).
 */
export function escapeDoubleQuoted(text: string, nextIsInterpolation: boolean): string {
  checkText(text);
  // Most text has nothing to escape: no per-character work then.
  if (!DOUBLE_QUOTED_SPECIAL.test(text)) return text;
  const tokens: string[] = [];
  for (const c of text) {
    switch (c) {
      case "\\":
        tokens.push("\\\\");
        break;
      case '"':
        tokens.push('\\"');
        break;
      case "\n":
        tokens.push("\\n");
        break;
      case "\r":
        tokens.push("\\r");
        break;
      case "\t":
        tokens.push("\\t");
        break;
      default:
        tokens.push(c);
    }
  }
  if (nextIsInterpolation) tokens.push("{");
  escapeDollarRuns(tokens, "\\$");
  if (nextIsInterpolation) tokens.pop();
  return tokens.join("");
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
  const tokens: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" && text[i + 1] === "'") {
      tokens.push("'''");
      i++;
    } else if (c === "\r") {
      tokens.push("''\\r");
    } else {
      tokens.push(c);
    }
  }
  const interpolation = after === "interpolation";
  if (interpolation) tokens.push("{");
  escapeDollarRuns(tokens, "''$");
  if (interpolation) tokens.pop();
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== "'") continue;
    const following = i + 1 < tokens.length ? tokens[i + 1]![0] : after === "close" ? "'" : "";
    if (following === "'") tokens[i] = "''\\'";
  }
  return tokens.join("");
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
