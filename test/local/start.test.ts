import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { chmod, cp, mkdtemp, rm } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/free-port.js";
import { createDatabase } from "../support/database.js";
import { TSX } from "../support/processes.js";

/** `npm start` as someone running it locally meets it. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** What `npm start` runs, from `cwd`: the process, everything it prints, and its JSON lines. */
function npmStart(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", TSX, "dev/start.ts"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(async () => child.exitCode === null && child.kill("SIGKILL"));
  const said = { output: "", lines: [] as Array<Record<string, unknown>> };
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      said.output += `${line}\n`;
      try {
        said.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a plain line: the greeting, or a refusal
      }
    });
  }
  // "close", not "exit": the output is all read by then.
  const closed = once(child, "close").then(([code]) => code as number | null);
  return { child, said, closed };
}

describe("npm start", () => {
  it("exits when its functions have exited", async () => {
    const { said, closed } = npmStart(ROOT, {
      PORT: "http",
      PAYMENT_PORT: "http",
      DATABASE_URL: await createDatabase("start"),
    });
    expect(await closed).toBe(1);
    // The first to exit has its sibling stopped, which may go before it says anything.
    expect(said.output).toMatch(/^(antaeus|payment): invalid configuration/m);
  });

  it(
    "from a clone in a private directory (mode 700, as /root is), as root too: one local PostgreSQL " +
      "for both functions, a pay call charges, piped it prints the functions' JSON lines as they " +
      "write them, and SIGTERM stops everything, the database last",
    async () => {
      // A clone: the project's own files copied, node_modules linked file by file (cp -al), so
      // that every path npm start uses, PostgreSQL's programs included, is inside the directory.
      const clone = await mkdtemp(join(tmpdir(), "antaeus-clone-"));
      cleanups.push(() => rm(clone, { recursive: true, force: true }));
      await chmod(clone, 0o700);
      for (const entry of ["dev", "functions", "package.json", "tsconfig.json"]) {
        await cp(join(ROOT, entry), join(clone, entry), { recursive: true });
      }
      const linked = spawn("cp", ["-al", join(ROOT, "node_modules"), join(clone, "node_modules")]);
      expect((await once(linked, "exit"))[0]).toBe(0);

      const [antaeusPort, paymentPort] = [await freePort(), await freePort()];
      const start = npmStart(clone, {
        PORT: String(antaeusPort),
        PAYMENT_PORT: String(paymentPort),
        SEED_CUSTOMERS: "10",
      });
      const dataDir = () =>
        start.said.lines.find((line) => line.msg === "local PostgreSQL for both functions")
          ?.dataDir as string | undefined;
      cleanups.push(async () => {
        const dir = dataDir();
        if (dir) await rm(dir, { recursive: true, force: true });
      });
      const up = expect
        .poll(() => start.said.output, { timeout: 90_000, interval: 200 })
        .toContain(`Antaeus is up at http://localhost:${antaeusPort}`);
      const ended = start.closed.then((code) => {
        throw new Error(`npm start exited (${code}) before it was up:\n${start.said.output}`);
      });
      await Promise.race([up, ended]);
      // As root its data cannot live in the clone, which "postgres" may not enter.
      expect(dataDir()).toEqual(
        process.getuid?.() === 0
          ? expect.stringMatching(/^\/.*\/antaeus-postgres\/data-/)
          : join(clone, ".data/postgres"),
      );

      // Auth is off: only this machine may reach the functions (HOST opens them).
      const listening = start.said.lines.filter((line) => String(line.msg).startsWith("listening"));
      expect(listening.map((line) => [line.service, line.host]).sort()).toEqual([
        ["antaeus", "127.0.0.1"],
        ["payment", "127.0.0.1"],
      ]);
      const outside = Object.values(networkInterfaces())
        .flat()
        .find((address) => address?.family === "IPv4" && !address.internal)?.address;
      if (outside) {
        for (const port of [antaeusPort, paymentPort]) {
          await expect(fetch(`http://${outside}:${port}/healthz`)).rejects.toThrow();
        }
      }

      const base = `http://127.0.0.1:${antaeusPort}`;
      const pay = await fetch(`${base}/rest/v1/invoices/pay`, { method: "POST" });
      expect(pay.status).toBeLessThan(300);
      let paid = 0;
      await expect
        .poll(
          async () => {
            const invoices = await fetch(`${base}/rest/v1/invoices?status=PAID`);
            paid = ((await invoices.json()) as unknown[]).length;
            return paid;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toBeGreaterThan(0);

      start.child.kill("SIGTERM");
      expect(await start.closed, start.said.output.slice(-3000)).toBe(0);
      const stopped = start.said.lines.map((line) => `${line.service} ${line.msg}`);
      expect(stopped).toContain("antaeus stopped");
      expect(stopped).toContain("payment stopped");
      expect(start.said.output).not.toMatch(/\n\s+at /); // no stack trace
      expect(start.said.lines.filter((line) => line.level === "error")).toEqual([]);
      // Piped, the output is the functions' JSON lines as they write them (no LOG_FORMAT needed):
      // payment's line for each charge included, at least one per invoice seen paid.
      const json = start.said.output.split("\n").filter((line) => line.startsWith("{"));
      expect(json.length).toBeGreaterThan(10);
      for (const line of json) {
        expect(JSON.parse(line)).toMatchObject({
          level: expect.any(String),
          time: expect.any(String),
        });
      }
      const charges = start.said.lines.filter(
        (line) => line.service === "payment" && line.path === "/v1/charges",
      );
      expect(charges.length).toBeGreaterThanOrEqual(paid);
      // PostgreSQL's lock file goes when it has stopped.
      expect(existsSync(join(dataDir() as string, "postmaster.pid"))).toBe(false);
    },
  );
});
