import { createServer } from "node:net";
import { type Answer, answer, type Call, type Tools } from "./cluster.js";

/**
 * Answers the stand-ins' calls (stand-in.sh on a local port) from the test's process: a call costs
 * a bash, not a Node start. A call is NUL-terminated fields: the name it was called by, its
 * working directory, the count of its arguments and each, the count of its STUB_* variables and
 * each as NAME=value. The answer is one line "code stderr-lines stdout-bytes", then stderr, then
 * stdout.
 */
export async function serveStandIns(tools: Tools): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const call = parseCall(received);
      if (call) socket.end(encode(answer(call, tools)));
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => server.close(),
  };
}

/** The call, once all of it has arrived. */
function parseCall(bytes: Buffer): Call | undefined {
  const fields = bytes.toString("utf8").split("\0");
  // The last piece follows the last NUL: not a whole field yet.
  fields.pop();
  if (fields.length < 3) return undefined;
  const argc = Number(fields[2]);
  if (fields.length < 4 + argc) return undefined;
  const envc = Number(fields[3 + argc]);
  if (fields.length < 4 + argc + envc) return undefined;
  const [tool, cwd] = fields as [string, string];
  const env = fields.slice(4 + argc, 4 + argc + envc).map((entry) => {
    const eq = entry.indexOf("=");
    return [entry.slice(0, eq), entry.slice(eq + 1)];
  });
  return { tool, cwd, args: fields.slice(3, 3 + argc), env: Object.fromEntries(env) };
}

function encode({ code, stdout, stderr }: Answer): Buffer {
  const err = stderr === "" || stderr.endsWith("\n") ? stderr : `${stderr}\n`;
  const out = Buffer.from(stdout);
  const lines = err.split("\n").length - 1;
  return Buffer.concat([Buffer.from(`${code} ${lines} ${out.length}\n${err}`), out]);
}
