/** ssh public keys: recognised by type, decodable body, and the type embedded in the body. */

const KEY_TYPES: ReadonlySet<string> = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/**
 * Why `key` is not an ssh public key, or undefined if it is one. A private key is refused with a
 * message that says so and never repeats the key.
 */
export function sshKeyProblem(key: unknown): string | undefined {
  if (typeof key !== "string") return "must be a string holding one public key";
  if (/PRIVATE KEY|PuTTY-User-Key-File/.test(key)) {
    return "this is a PRIVATE key (it was not printed); give the public key instead, the one-line .pub file";
  }
  if (/[\0-\x1f\x7f]/.test(key)) return "must be one line with no control characters";
  const fields = key.trim().split(/ +/);
  const [type, body] = fields;
  if (type === undefined || !KEY_TYPES.has(type)) {
    return `does not start with a known key type (${[...KEY_TYPES].slice(0, 3).join(", ")} …)`;
  }
  if (body === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    return `the ${type} key body is not base64`;
  }
  const blob = Buffer.from(body, "base64");
  if (blob.length < 4) return "the key body is too short to be a key";
  const len = blob.readUInt32BE(0);
  const embedded = blob.subarray(4, 4 + len).toString("latin1");
  if (embedded !== type) {
    return `the key says ${type} but its body holds a ${JSON.stringify(embedded.slice(0, 40))} key; it was damaged or mixed up`;
  }
  if (key !== key.trim()) return "has leading or trailing spaces";
  return undefined;
}
