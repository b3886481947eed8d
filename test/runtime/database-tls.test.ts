import { execFile } from "node:child_process";
import { chmod, chown, copyFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../dev/embedded-postgres.js";
import { connect } from "../../functions/runtime/process/database.js";
import { memoryLogger } from "../support/memory-logger.js";

const openssl = (...args: string[]) => promisify(execFile)("openssl", args);

let server: EmbeddedPostgres;
let dir: string;
let dataDir: string;
/** The CA that signed the server's certificate, and one that did not. */
let ca: string;
let otherCa: string;

/** A CA (its certificate and key under `name`), and a server certificate it signs for 127.0.0.1. */
async function certificates() {
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const name of ["ca", "other-ca"]) {
    await openssl(
      "req",
      "-x509",
      ...key,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.crt`),
    );
  }
  await openssl(
    "req",
    ...key,
    "-subj",
    "/CN=postgres",
    "-keyout",
    join(dir, "server.key"),
    "-out",
    join(dir, "server.csr"),
  );
  await writeFile(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  await openssl(
    "x509",
    "-req",
    "-in",
    join(dir, "server.csr"),
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    join(dir, "san.ext"),
    "-out",
    join(dir, "server.crt"),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "antaeus-tls-"));
  // As root, PostgreSQL runs as the user "postgres", who must be able to enter it.
  await chmod(dir, 0o755);
  dataDir = join(dir, "data");
  await certificates();
  ca = join(dir, "ca.crt");
  otherCa = join(dir, "other-ca.crt");
  server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  // The server's certificate in its data directory, owned as PostgreSQL asks of a key file.
  const owner = await stat(dataDir);
  for (const file of ["server.crt", "server.key"]) {
    await copyFile(join(dir, file), join(dataDir, file));
    await chown(join(dataDir, file), owner.uid, owner.gid);
    await chmod(join(dataDir, file), 0o600);
  }
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  await admin`alter system set ssl = on`;
  await admin`select pg_reload_conf()`;
  await admin.end();
  // The reload is applied by the server in its own time: wait until a new session sees it.
  for (let tries = 0; ; tries++) {
    const check = postgres(server.url, { max: 1, onnotice: () => {} });
    const [{ ssl }] = await check<[{ ssl: string }]>`show ssl`;
    await check.end();
    if (ssl === "on") break;
    if (tries > 100) throw new Error("PostgreSQL did not turn TLS on");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Whether the runtime's connection for `query` (appended to the URL) runs over TLS, to the
 * server by the address its certificate names (127.0.0.1) or by a name it does not (localhost).
 */
async function overTls(query: string, host = "127.0.0.1"): Promise<boolean> {
  const url = new URL(server.url);
  url.hostname = host;
  const sql = await connect(`${url}?${query}`, { max: 1, logger: memoryLogger().logger });
  try {
    const [row] = await sql<[{ ssl: boolean }]>`
      select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    return row.ssl;
  } finally {
    await sql.end();
  }
}

describe("PostgreSQL connections over TLS, as DATABASE_URL's sslmode says (libpq's meaning)", () => {
  it("verify-full: TLS, with the server's certificate checked against sslrootcert and its name", async () => {
    expect(await overTls(`sslmode=verify-full&sslrootcert=${ca}`)).toBe(true);
    await expect(overTls(`sslmode=verify-full&sslrootcert=${ca}`, "localhost")).rejects.toThrow(
      /does not match certificate/,
    );
    // verify-ca checks the chain only, as libpq's does.
    expect(await overTls(`sslmode=verify-ca&sslrootcert=${ca}`, "localhost")).toBe(true);
  });

  it("verify-ca: refuses a server whose certificate another CA signed", async () => {
    await expect(overTls(`sslmode=verify-ca&sslrootcert=${otherCa}`)).rejects.toThrow(
      /certificate/i,
    );
    expect(await overTls(`sslmode=verify-ca&sslrootcert=${ca}`)).toBe(true);
  });

  it("no sslmode is prefer, libpq's default: TLS where the server offers it; disable: never", async () => {
    expect(await overTls("")).toBe(true);
    expect(await overTls("sslmode=require")).toBe(true);
    expect(await overTls("sslmode=disable")).toBe(false);
  });
});
