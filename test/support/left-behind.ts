import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { afterAll } from "vitest";

/**
 * Test files take turns in a few worker processes (vitest.config.ts, `isolate: false`), so what
 * one file leaves open the next one inherits: a function still running and holding its
 * connections, a server still on its port, a pool still on the shared PostgreSQL. After each
 * file's own hooks, this fails the file that left a child process or a TCP socket of its worker
 * open, naming them.
 */
afterAll(async () => {
  // A closed socket or a killed child may take a turn or two of the event loop to be gone.
  let left = leftOpen();
  for (let waited = 0; left.length > 0 && waited < 2_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = leftOpen();
  }
  if (left.length > 0) {
    throw new Error(
      `this file left open in its worker, for the next file to inherit:\n${left.join("\n")}`,
    );
  }
});

function leftOpen(): string[] {
  return [...childProcesses(), ...tcpSockets()];
}

/**
 * This process's children, but esbuild's service: esbuild starts one on its first build and
 * keeps it, unreferenced, for the next build of the process.
 */
function childProcesses(): string[] {
  const children: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let command: string;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== process.pid) continue;
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      continue; // gone meanwhile
    }
    if (/esbuild\S* --service=/.test(command)) continue;
    children.push(`process ${pid}: ${command}`);
  }
  return children;
}

/** TCP sockets this process holds a descriptor of: listening, connected or closing. */
function tcpSockets(): string[] {
  const ours = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) ours.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const sockets: string[] = [];
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").trim().split("\n").slice(1);
    } catch {
      continue; // no IPv6
    }
    for (const line of lines) {
      const [, local, remote, , , , , , , inode] = line.trim().split(/\s+/);
      if (inode && ours.has(inode)) {
        sockets.push(`TCP socket ${port(local)} → ${port(remote)}`);
      }
    }
  }
  return sockets;
}

/** The port of an address as /proc/net/tcp writes it (hex address:hex port). */
const port = (address = "") => {
  const value = Number.parseInt(address.split(":").at(-1) ?? "", 16);
  return value === 0 ? "*" : `port ${value}`;
};
