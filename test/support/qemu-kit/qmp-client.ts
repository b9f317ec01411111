/**
 * A minimal QMP client for test assertions, independent of the socat-based stop script under
 * test: greeting, `qmp_capabilities`, one command, its answer.
 */
import { createConnection } from "node:net";

/** Runs `command` on the QMP socket and resolves with its `return` value. */
export function qmpExecute(socket: string, command: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const fail = (err: Error): void => {
      conn.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`QMP ${command}: no answer`)), timeoutMs);
    let buffer = "";
    let step = 0; // 0: greeting, 1: capabilities sent, 2: command sent
    conn.setEncoding("utf8");
    conn.on("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    conn.on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
        buffer = buffer.slice(newline + 1);
        if ("event" in message) continue;
        if ("error" in message) {
          clearTimeout(timer);
          return fail(new Error(`QMP ${command}: ${JSON.stringify(message.error)}`));
        }
        if (step === 0) conn.write('{"execute":"qmp_capabilities"}\n');
        if (step === 1) conn.write(`${JSON.stringify({ execute: command })}\n`);
        if (step === 2) {
          clearTimeout(timer);
          conn.end();
          return resolve(message.return);
        }
        step++;
      }
    });
  });
}
