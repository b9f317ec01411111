/**
 * A minimal QMP client for test assertions, independent of the socat-based stop program under
 * test: greeting, `qmp_capabilities`, one command (with arguments, if any), its `return`. Events
 * that arrive in between are skipped; QMP ends lines with CR LF, which JSON.parse ignores.
 */
import { createConnection } from "node:net";

/** Runs `execute` with `args` on the QMP socket and resolves with its `return` value. */
export function qmp(
  socket: string,
  execute: string,
  args?: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let settled = false;
    const finish = (err: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`QMP ${execute}: no answer`)), timeoutMs);
    let buffer = "";
    let step = 0; // 0: waiting for the greeting, 1: for capabilities, 2: for the answer
    conn.setEncoding("utf8");
    conn.on("error", (err) => finish(err));
    // QEMU gone before it answered: say so now rather than at the timeout.
    conn.on("close", () =>
      finish(new Error(`QMP ${execute}: connection closed before the answer`)),
    );
    conn.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
        buffer = buffer.slice(newline + 1);
        if ("event" in message) continue;
        if ("error" in message) {
          return finish(new Error(`QMP ${execute}: ${JSON.stringify(message.error)}`));
        }
        if (step === 0) conn.write('{"execute":"qmp_capabilities"}\n');
        if (step === 1) {
          conn.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
        }
        if (step === 2) return finish(undefined, message.return);
        step++;
      }
    });
  });
}

/** An HMP command through QMP's `human-monitor-command`; its text output. */
export async function hmp(socket: string, command: string): Promise<string> {
  return (await qmp(socket, "human-monitor-command", { "command-line": command })) as string;
}
