import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES } from "../functions/antaeus/auth/roles.js";
import {
  ANTAEUS,
  ISSUER,
  type SigningKey,
  signingKey,
  startJwksServer,
  token,
} from "./support/identity.js";
import { inProcessAntaeus, inProcessPayment } from "./support/in-process.js";

/**
 * The security each OpenAPI document declares is the security its function enforces: every
 * operation the document marks open answers without a token, every one it marks with a bearer
 * scheme answers 401 without one, and exactly the roles it lists get past Antaeus's guard.
 * Antaeus's description (/openapi.json, /docs) is readable without a token in every profile;
 * payment's needs Antaeus's token on the API port, as its charges do.
 */

interface Document {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let key: SigningKey;
let dir: string;
/** One subject per role, so a token speaks for exactly one role. */
const holderOf = (role: string) => `system:serviceaccount:antaeus:holds-${role}`;

beforeAll(async () => {
  key = await signingKey("k8s-1");
  jwks = await startJwksServer();
  jwks.state.keys = [key.jwk];
  dir = await mkdtemp(join(tmpdir(), "openapi-security-"));
  await writeFile(join(dir, "self-token"), "unused");
  await writeFile(
    join(dir, "auth.json"),
    JSON.stringify({
      issuers: [{ issuer: ISSUER, audiences: ["antaeus"], jwksUrl: jwks.url }],
      roles: Object.fromEntries(ROLES.map((role) => [role, { subjects: [holderOf(role)] }])),
    }),
  );
});
afterAll(async () => {
  await jwks?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Every operation of a document, with a concrete path (each `{param}` as 1). */
const operations = (document: Document) =>
  Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      template,
      path: template.replace(/\{\w+\}/g, "1"),
      security: operation.security,
    })),
  );

const request = (method: string, authorization?: string): RequestInit => ({
  method,
  headers: {
    ...(authorization ? { authorization: `Bearer ${authorization}` } : {}),
    ...(method === "POST" ? { "content-type": "application/json" } : {}),
  },
  ...(method === "POST" ? { body: "{}" } : {}),
});

describe.each(["none", "original"] as const)("Antaeus, ANTAEUS_AUTH_OPEN_ROUTES=%s", (profile) => {
  let checked: Awaited<ReturnType<typeof inProcessAntaeus>>;
  let document: Document;
  beforeAll(async () => {
    checked = await inProcessAntaeus({
      SEED_ENABLED: "false",
      ANTAEUS_AUTH: "on",
      ANTAEUS_AUTH_CONFIG_FILE: join(dir, "auth.json"),
      ANTAEUS_AUTH_OPEN_ROUTES: profile,
      BILLING_SELF_TOKEN_FILE: join(dir, "self-token"),
    });
    const response = await checked.app.request("/openapi.json");
    expect(response.status).toBe(200);
    document = (await response.json()) as Document;
  });
  afterAll(() => checked?.close());

  it("serves its description and reference page without a token, and the document is valid", async () => {
    expect((await checked.app.request("/docs")).status).toBe(200);
    expect(document.components?.securitySchemes?.bearer).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it("states each operation's security: open exactly where the guard lets a request through without a token", async () => {
    const disagreements: string[] = [];
    for (const { method, path, template, security } of operations(document)) {
      expect(security, `${method} ${template} declares its security`).toBeDefined();
      const status = (await checked.app.request(path, request(method))).status;
      const open = security?.length === 0;
      if (open === (status === 401)) {
        disagreements.push(
          `${method} ${template}: document ${open ? "open" : "secured"}, ${status}`,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("lists on each secured operation exactly the roles the guard accepts", async () => {
    const disagreements: string[] = [];
    for (const { method, path, template, security } of operations(document)) {
      if (!security?.length) continue;
      const listed = security[0]?.bearer ?? [];
      for (const role of ROLES) {
        const bearer = await token(key, { aud: "antaeus", sub: holderOf(role) });
        const status = (await checked.app.request(path, request(method, bearer))).status;
        if ((status === 403) === listed.includes(role)) {
          disagreements.push(`${method} ${template} with ${role}: lists ${listed}, got ${status}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });
});

describe("payment, PAYMENT_AUTH=jwks", () => {
  it("marks secured exactly the operations that answer 401 without a token, its own description among them", async () => {
    const { app, close } = await inProcessPayment({
      PAYMENT_AUTH: "jwks",
      PAYMENT_AUTH_ISSUER: ISSUER,
      PAYMENT_AUTH_SUBJECT: ANTAEUS,
      PAYMENT_AUTH_JWKS_URL: jwks.url,
    });
    try {
      // Any workload may reach payment's API port through Knative: its description is for Antaeus
      // there (and for monitoring on METRICS_PORT, test/payment/auth.test.ts).
      expect((await app.request("/openapi.json")).status).toBe(401);
      expect((await app.request("/docs")).status).toBe(401);
      const withToken = { headers: { authorization: `Bearer ${await token(key)}` } };
      expect((await app.request("/docs", withToken)).status).toBe(200);
      const response = await app.request("/openapi.json", withToken);
      expect(response.status).toBe(200);
      const document = (await response.json()) as Document;
      expect(document.components?.securitySchemes?.bearer?.scheme).toBe("bearer");
      const disagreements: string[] = [];
      for (const { method, path, template, security } of operations(document)) {
        const status = (await app.request(path, request(method))).status;
        const open = security?.length === 0;
        if (open === (status === 401)) {
          disagreements.push(
            `${method} ${template}: document ${open ? "open" : "secured"}, ${status}`,
          );
        }
      }
      expect(disagreements).toEqual([]);
      expect(operations(document).filter((operation) => operation.security?.length)).not.toEqual(
        [],
      );
    } finally {
      await close();
    }
  });
});
