import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import { antaeusIdentity } from "../support/antaeus-identity.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";

/**
 * The run pages' session cookie where the pages are served over https behind Knative's gateway
 * (the pod hears plain http; the gateway says https in X-Forwarded-Proto), and in production.
 */
let identity: Awaited<ReturnType<typeof antaeusIdentity>>;
let antaeus: InProcessApp<AntaeusConfig>;
let production: InProcessApp<AntaeusConfig>;

beforeAll(async () => {
  identity = await antaeusIdentity();
  const env = { ...identity.env, SEED_ENABLED: "false" };
  [antaeus, production] = await Promise.all([
    inProcessAntaeus(env),
    inProcessAntaeus({
      ...env,
      NODE_ENV: "production",
      ANTAEUS_AUTH_OPEN_ROUTES: "none",
      PAYMENT_PROVIDER_ENDPOINT: "http://payment.payment.svc.cluster.local/v1/charges",
      BILLING_LANE_URL: "http://antaeus-billing.antaeus.svc.cluster.local",
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([antaeus?.close(), production?.close()]);
  await identity?.close();
});

const HTTPS = { "x-forwarded-proto": "https" };
const billing = () => identity.companyToken("alice@example.com", ["billing"]);
const signIn = (app: InProcessApp<AntaeusConfig>, token: string, headers = {}) =>
  app.app.request("/runs/sign-in", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ token, next: "/runs" }),
  });
const page = (cookie: string, headers = {}) =>
  antaeus.app.request("/runs", { headers: { accept: "text/html", cookie, ...headers } });

describe("the run pages' cookie over https", () => {
  it("is __Host-antaeus-session, and only that name opens the pages: a sibling's cookie without the prefix shadows nothing", async () => {
    const token = await billing();
    const set = (await signIn(antaeus, token, HTTPS)).headers.getSetCookie();
    expect(set).toEqual([expect.stringMatching(/^__Host-antaeus-session=/)]);
    expect((await page(`__Host-antaeus-session=${token}`, HTTPS)).status).toBe(200);
    // What another service of the same domain could set for it: not read over https.
    expect((await page(`antaeus-session=${token}`, HTTPS)).status).toBe(303);
  });
});

describe("signing out", () => {
  it("from another site is refused (403) and clears nothing", async () => {
    const response = await antaeus.app.request("/runs/sign-out", {
      method: "POST",
      headers: { origin: "https://evil.example", host: "antaeus.example.com" },
    });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("from the pages themselves clears the __Host- cookie", async () => {
    const response = await antaeus.app.request("/runs/sign-out", {
      method: "POST",
      headers: { origin: "https://antaeus.example.com", host: "antaeus.example.com", ...HTTPS },
    });
    expect(response.status).toBe(303);
    expect(response.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^__Host-antaeus-session=; Max-Age=0; Path=\/; HttpOnly; Secure/),
    ]);
  });
});

describe("in production (NODE_ENV=production)", () => {
  it("refuses to sign in over plain http: the cookie would carry the token in clear text", async () => {
    const response = await signIn(production, await billing());
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Sign in over https");
    expect(response.headers.getSetCookie()).toEqual([]);
    const secure = await signIn(production, await billing(), HTTPS);
    expect(secure.status).toBe(303);
  });
});
