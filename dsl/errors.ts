/** Raised when an expression cannot be written as valid Nix (bad name, NUL byte, NaN …). */
export class NixDslError extends Error {
  override name = "NixDslError";
}
