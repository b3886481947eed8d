import { describe, expect, it } from "vitest";
import * as z from "zod";
import { parseConfig, serviceEnv } from "./config.js";
import { databaseTls, sslOption } from "./database-tls.js";

const URL_ = "postgres://app:secret@db.example:5432/app";

describe("DATABASE_URL's TLS settings, read as libpq reads them", () => {
  it("take sslmode and sslrootcert out of the URL (postgres.js would send sslrootcert to the server)", () => {
    expect(
      databaseTls(`${URL_}?sslmode=verify-full&sslrootcert=/etc/ca.crt&application_name=x`),
    ).toEqual({
      url: `${URL_}?application_name=x`,
      host: "db.example",
      mode: "verify-full",
      rootCert: "/etc/ca.crt",
    });
  });

  it.each([
    ["", "prefer"],
    ["?sslmode=disable", false],
    ["?sslmode=prefer", "prefer"],
    ["?sslmode=require", "require"],
  ])("%s → %s", (query, ssl) => {
    const tls = databaseTls(`${URL_}${query}`);
    if (typeof tls === "string") throw new Error(tls);
    expect(sslOption(tls)).toBe(ssl);
  });

  it("verify-full checks the chain and the name; verify-ca (and require with a root certificate) the chain only", () => {
    const option = (query: string) => {
      const tls = databaseTls(`${URL_}?${query}`);
      if (typeof tls === "string") throw new Error(tls);
      return sslOption(tls) as { rejectUnauthorized: boolean; checkServerIdentity?: unknown };
    };
    const peer = { subject: { CN: "db.example" } };
    const check = (query: string, host: string) =>
      (option(query).checkServerIdentity as (host: string, cert: unknown) => Error | undefined)(
        "localhost",
        { ...peer, subjectaltname: `DNS:${host}` },
      );
    expect(option("sslmode=verify-full")).toMatchObject({ rejectUnauthorized: true });
    // The name checked is the URL's host, whatever the TLS layer was told.
    expect(check("sslmode=verify-full", "db.example")).toBeUndefined();
    expect(check("sslmode=verify-full", "elsewhere.example")).toBeInstanceOf(Error);
    for (const query of ["sslmode=verify-ca", "sslmode=require&sslrootcert=system"]) {
      expect(option(query)).toMatchObject({ rejectUnauthorized: true });
      expect(check(query, "elsewhere.example")).toBeUndefined();
    }
  });

  it("refuse at config load what they cannot honour, naming DATABASE_URL", () => {
    const schema = z.object({ DATABASE_URL: serviceEnv.DATABASE_URL });
    for (const [query, message] of [
      [
        "?sslmode=verify_full",
        "sslmode=verify_full is not one of disable, prefer, require, verify-ca, verify-full",
      ],
      ["?sslmode=allow", "sslmode=allow is not one of"],
      ["?sslmode=disable&sslrootcert=/etc/ca.crt", "sslrootcert is used only with"],
    ]) {
      expect(() => parseConfig(schema, { DATABASE_URL: `${URL_}${query}` })).toThrow(
        `DATABASE_URL: ${message}`,
      );
    }
  });
});
