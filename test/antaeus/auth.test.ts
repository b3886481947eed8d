import { readFile } from "node:fs/promises";
import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_COMMAND } from "../../functions/antaeus/auth/guard.js";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import { antaeusService } from "../../functions/antaeus/service.js";
import { ConfigError } from "../../functions/runtime/index.js";
import {
  antaeusIdentity,
  MONTHLY,
  OPERATOR,
  READER,
  SA,
  SELF,
} from "../support/antaeus-identity.js";
import { expectError } from "../support/api-error.js";
import { pingDelivery } from "../support/cloudevents.js";
import { ISSUER, signingKey, token } from "../support/identity.js";
import {
  type InProcessApp,
  type InProcessSystem,
  inProcessAntaeus,
  inProcessSystem,
} from "../support/in-process.js";
import { waitForNoRunningRun } from "../support/system.js";

// Who may call is decided by the app: both functions in-process, each on a port of its own (a
// run's lanes call Antaeus back over HTTP, with its own token), on the run's PostgreSQL.
let system: InProcessSystem;
let identity: Awaited<ReturnType<typeof antaeusIdentity>>;
const clusterToken = (sub: string, claims: JWTPayload = {}) => identity.clusterToken(sub, claims);
const companyToken = (sub: string, groups: string[], claims: JWTPayload = {}) =>
  identity.companyToken(sub, groups, claims);

beforeAll(async () => {
  identity = await antaeusIdentity();
  system = await inProcessSystem({
    antaeus: { ...identity.env, SEED_CUSTOMERS: "10", SEED_INVOICES_PER_CUSTOMER: "2" },
    // 20 invoices one at a time at 20 ms each outlast a 100 ms budget: lanes hand themselves on.
    payment: { PAYMENT_LATENCY_MS: "20" },
  });
});
afterAll(async () => {
  await system?.stop();
  await identity?.close();
});

const base = () => system.url;
const bearer = (value: string | undefined): Record<string, string> =>
  value ? { authorization: `Bearer ${value}` } : {};

interface Target {
  /** The request, with the caller's headers. */
  send: (headers: Record<string, string>) => Promise<Response>;
  /** A caller with a role, just not the one this needs. */
  wrongRole: () => Promise<string>;
  rightRole: () => Promise<string>;
  /** What the right caller gets. */
  allowed: number[];
}

let events = 0;
const post = (path: string, headers: Record<string, string>, body?: unknown) =>
  fetch(`${base()}${path}`, {
    method: "POST",
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const TARGETS: Record<string, Target> = {
  "a read": {
    send: (headers) => fetch(`${base()}/rest/v1/invoices/1`, { headers }),
    wrongRole: () => clusterToken(MONTHLY),
    rightRole: () => clusterToken(READER),
    allowed: [200],
  },
  "a pay call": {
    send: (headers) => post("/rest/v1/invoices/pay", headers),
    wrongRole: () => clusterToken(READER),
    rightRole: () => companyToken("alice@example.com", ["billing"]),
    allowed: [200, 202],
  },
  "an operator action": {
    send: async (headers) => {
      await system.antaeusDb`update invoices set status = 'CURRENCY_MISMATCH', run_id = null where id = 3`;
      return post("/rest/v1/invoices/3/requeue", headers, { reason: "customer moved to EUR" });
    },
    wrongRole: () => companyToken("alice@example.com", ["billing"]),
    rightRole: () => clusterToken(OPERATOR),
    allowed: [200],
  },
  "a lane of a run": {
    send: (headers) =>
      post("/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000", headers),
    wrongRole: () => clusterToken(OPERATOR),
    rightRole: () => clusterToken(SELF),
    allowed: [200],
  },
  "a PingSource delivery": {
    send: (headers) => {
      const event = pingDelivery({ source: "antaeus/monthly-billing", id: `e-${++events}` });
      return fetch(`${base()}/rest/v1/invoices/pay`, {
        ...event,
        headers: { ...event.headers, ...headers },
      });
    },
    wrongRole: () => clusterToken(READER),
    rightRole: () => clusterToken(MONTHLY),
    allowed: [200, 202],
  },
};

async function expectUnauthenticated(response: Response) {
  expect(response.headers.get("www-authenticate")).toBe('Bearer realm="antaeus"');
  await expectError(response, 401, "unauthenticated", TOKEN_COMMAND);
}

const CASES: Array<[string, (target: Target) => Promise<string | undefined>, number]> = [
  ["no token", async () => undefined, 401],
  [
    "a bad signature",
    async () => token(await signingKey("k8s-1"), { aud: "antaeus", sub: READER }),
    401,
  ],
  [
    "an expired token",
    async () => clusterToken(READER, { exp: Math.floor(Date.now() / 1000) - 60 }),
    401,
  ],
  ["a token for another audience", async () => clusterToken(READER, { aud: "payment" }), 401],
  [
    "a token from an issuer not trusted",
    async () => clusterToken(READER, { iss: "https://evil.example" }),
    401,
  ],
  ["an unknown subject", async () => clusterToken(SA("intruder")), 403],
  ["a known subject without the role", (target) => target.wrongRole(), 403],
  ["the right role", (target) => target.rightRole(), 200],
];

describe("the production profile: who may call Antaeus", () => {
  beforeAll(async () => {
    // A run for the lane route: started by a billing caller.
    const response = await post(
      "/rest/v1/invoices/pay",
      bearer(await companyToken("bob@example.com", ["billing"])),
    );
    expect([200, 202]).toContain(response.status);
  });

  for (const [targetName, target] of Object.entries(TARGETS)) {
    for (const [caseName, credential, status] of CASES) {
      it(`${targetName} with ${caseName}: ${status === 200 ? "served" : status}`, async () => {
        const response = await target.send(bearer(await credential(target)));
        if (status === 401) return expectUnauthenticated(response);
        if (status === 403) return expectError(response, 403, "forbidden", "may not");
        expect(target.allowed).toContain(response.status);
      });
    }
  }

  it("lets only the probes through without a token, and asks for one on unknown paths", async () => {
    for (const probe of ["/healthz", "/readyz"])
      expect((await fetch(`${base()}${probe}`)).status).toBe(200);
    for (const path of [
      "/",
      "/rest/health",
      "/rest/v1/customers",
      "/metrics",
      "/rest/v1/nothing",
    ]) {
      await expectUnauthenticated(await fetch(`${base()}${path}`));
    }
  });

  it("records an operator's requeue with who, when and why, and a repeat changes nothing", async () => {
    const operator = bearer(await clusterToken(OPERATOR));
    await system.antaeusDb`update invoices set status = 'CUSTOMER_NOT_FOUND', run_id = null where id = 5`;
    const first = await post("/rest/v1/invoices/5/requeue", operator, {
      reason: "customer imported",
    });
    expect(first.status).toBe(200);
    const again = await post("/rest/v1/invoices/5/requeue", operator, { reason: "twice" });
    expect(await again.json()).toMatchObject({
      performed: false,
      action: { reason: "customer imported" },
    });
    const watcher = bearer(await companyToken("carol@example.com", ["billing"]));
    const actions = (await (
      await fetch(`${base()}/rest/v1/invoices/5/actions`, { headers: watcher })
    ).json()) as Array<Record<string, unknown>>;
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      action: "requeue_invoice",
      actor: OPERATOR,
      reason: "customer imported",
      previousStatus: "CUSTOMER_NOT_FOUND",
    });
    expect(Date.now() - Date.parse(String(actions[0]!.at))).toBeLessThan(60_000);
    const [invoice] = await system.antaeusDb`select status from invoices where id = 5`;
    expect(invoice!.status).toBe("PENDING");
  });

  it("names the OIDC caller by its issuer's prefix, so no issuer can mint another's subject", async () => {
    // The company's provider says "sub: the cluster's operator": it stays oidc:…, no role.
    const forged = await companyToken(OPERATOR, []);
    await expectError(
      await post("/rest/v1/invoices/5/requeue", bearer(forged), { reason: "x" }),
      403,
      "forbidden",
      `oidc:${OPERATOR}`,
    );
  });

  it("logs who called, never the token", async () => {
    const reader = await clusterToken(READER);
    expect((await fetch(`${base()}/rest/v1/customers/1`, { headers: bearer(reader) })).status).toBe(
      200,
    );
    const logs = system.antaeus.logs;
    // The request's line is written asynchronously, after the answer.
    await expect
      .poll(() => logs.some((l) => l.subject === READER && l.path === "/rest/v1/customers/1"))
      .toBe(true);
    expect(JSON.stringify(logs)).not.toContain(reader.split(".")[2]);
  });

  it("the 401 names the token command the README gives", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme.includes(TOKEN_COMMAND)).toBe(true);
  });
});

describe("the run pages' way in: a token traded once for a cookie", () => {
  const signIn = (tokenValue: string, next = "/runs", headers: Record<string, string> = {}) =>
    fetch(`${base()}/runs/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ token: tokenValue, next }),
    });
  const page = (path: string, cookie?: string) =>
    fetch(`${base()}${path}`, {
      redirect: "manual",
      headers: { accept: "text/html", ...(cookie ? { cookie } : {}) },
    });
  /** The cookie a browser would send back under /runs, from a sign-in's Set-Cookie. */
  const cookieOf = (response: Response) => {
    const set = response.headers.getSetCookie().find((line) => /Path=\/runs(;|$)/.test(line));
    return set?.split(";")[0];
  };
  const billingToken = (claims: JWTPayload = {}) => companyToken("alice", ["billing"], claims);

  it("sends a browser without a cookie from a page to the sign-in, and curl gets the JSON 401", async () => {
    const response = await page("/runs/7");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/runs/sign-in?next=%2Fruns%2F7");
    await expectError(
      await fetch(`${base()}/runs`, { redirect: "manual" }),
      401,
      "unauthenticated",
      TOKEN_COMMAND,
    );
    const form = await page("/runs/sign-in?next=%2Fruns%2F7");
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="next" value="/runs/7"');
  });

  it("refuses a bad token in the page: 401, no cookie", async () => {
    const forged = await token(identity.companyKey, { iss: ISSUER, aud: "antaeus", sub: "x" });
    for (const bad of ["not-a-jwt", forged, await billingToken({ exp: 1 })]) {
      const response = await signIn(bad);
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await response.text()).toContain("Not signed in");
      expect(response.headers.getSetCookie()).toEqual([]);
    }
    // A reader may read invoices but not watch runs.
    expect((await signIn(await clusterToken(READER))).status).toBe(403);
    // Another site may not sign a browser in.
    const foreign = await signIn(await billingToken(), "/runs", { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.getSetCookie()).toEqual([]);
  });

  it("sets an HttpOnly, SameSite=Strict, path-limited cookie that expires with the token, and it opens the pages", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const response = await signIn(await billingToken({ exp }), "/runs/7");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/runs/7");
    const cookies = response.headers.getSetCookie();
    expect(cookies.map((line) => /Path=([^;]+)/.exec(line)?.[1]).sort()).toEqual([
      "/rest/v1/billing/runs",
      "/runs",
    ]);
    for (const line of cookies) {
      expect(line).toMatch(/; HttpOnly/);
      expect(line).toMatch(/; SameSite=Strict/);
      expect(line).not.toMatch(/; Secure/); // plain http here
      const maxAge = Number(/Max-Age=(\d+)/.exec(line)?.[1]);
      expect(maxAge).toBeGreaterThan(590);
      expect(maxAge).toBeLessThanOrEqual(exp - Math.floor(Date.now() / 1000) + 1);
    }
    const cookie = cookieOf(response)!;
    const runs = await page("/runs", cookie);
    expect(runs.status).toBe(200);
    expect(await runs.text()).toContain("Sign out");
    // The run the live script polls: past the guard, to an answer about the run itself.
    await expectError(
      await fetch(`${base()}/rest/v1/billing/runs/999999`, { headers: { cookie } }),
      404,
      "not_found",
      "999999",
    );
  });

  it("over https (Knative's gateway says so in X-Forwarded-Proto): one __Host- cookie, Secure, Path=/", async () => {
    const response = await signIn(await billingToken(), "/runs", { "x-forwarded-proto": "https" });
    const cookies = response.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(
      /^__Host-antaeus-session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
  });

  it("never lets the cookie alone charge or change anything, or read beyond the pages", async () => {
    const cookie = cookieOf(await signIn(await billingToken()))!;
    for (const path of [
      "/rest/v1/invoices/pay",
      "/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000",
      "/rest/v1/billing/resume",
      "/rest/v1/invoices/1/requeue",
      "/rest/v1/billing/runs/1/cancel",
    ]) {
      await expectError(await post(path, { cookie }, {}), 401, "unauthenticated", TOKEN_COMMAND);
    }
    await expectError(
      await fetch(`${base()}/rest/v1/invoices`, { headers: { cookie } }),
      401,
      "unauthenticated",
      TOKEN_COMMAND,
    );
  });

  it("sends a browser whose token expired back to the sign-in, and forgets the cookie", async () => {
    const cookie = `antaeus-session=${await billingToken({ exp: Math.floor(Date.now() / 1000) - 60 })}`;
    const response = await page("/runs", cookie);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/runs/sign-in?next=%2Fruns");
    expect(response.headers.getSetCookie().join("\n")).toMatch(/antaeus-session=;.*Max-Age=0/);
  });

  it("goes only to a run page of this server after signing in: no open redirect", async () => {
    for (const next of [
      "//evil.example",
      "https://evil.example/runs",
      "/runs/../rest/v1/invoices",
      "/\\evil.example",
      "/runsx",
    ]) {
      const response = await signIn(await billingToken(), next);
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("/runs");
    }
    const form = await page("/runs/sign-in?next=%2F%2Fevil.example");
    expect(await form.text()).toContain('name="next" value="/runs"');
  });

  it("signs out: the cookie is cleared on both paths", async () => {
    const response = await fetch(`${base()}/runs/sign-out`, { method: "POST", redirect: "manual" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/runs/sign-in");
    const cleared = response.headers.getSetCookie();
    expect(cleared).toHaveLength(2);
    for (const line of cleared) expect(line).toMatch(/^antaeus-session=;.*Max-Age=0/);
  });
});

describe("lane requests", () => {
  it("carry Antaeus's own token: a run longer than one request's budget finishes", async () => {
    const slow = await inProcessAntaeus(
      {
        ...system.antaeusEnv,
        BILLING_REQUEST_BUDGET_MS: "100",
        BILLING_CONCURRENCY: "1",
      },
      system.antaeus.databaseUrl,
    );
    try {
      const slowUrl = await slow.listen();
      // A new run, not one joined: wait for any earlier run to finish, then queue everything.
      await waitForNoRunningRun(system);
      await system.antaeusDb`update invoices set status = 'PENDING', run_id = null, attempt_key = null`;
      const pay = await fetch(`${slowUrl}/rest/v1/invoices/pay`, {
        method: "POST",
        headers: bearer(await companyToken("dave@example.com", ["billing"])),
      });
      expect([200, 202]).toContain(pay.status);
      const { id } = (await pay.json()) as { id: number };
      await expect
        .poll(
          async () =>
            (await system.antaeusDb`select status from billing_runs where id = ${id}`)[0]?.status,
          { timeout: 30_000 },
        )
        .toBe("COMPLETED");
      expect(slow.logs.some((line) => line.msg === "lane's request ends; the run goes on")).toBe(
        true,
      );
      expect(slow.logs.filter((line) => line.msg === "caller refused")).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });
});

describe("the challenge profile (ANTAEUS_AUTH_OPEN_ROUTES=original)", () => {
  let open: InProcessApp<AntaeusConfig>;
  let openUrl: string;
  beforeAll(async () => {
    open = await inProcessAntaeus(
      {
        ...system.antaeusEnv,
        ANTAEUS_AUTH_OPEN_ROUTES: "original",
        METRICS_PORT: "0",
      },
      system.antaeus.databaseUrl,
    );
    openUrl = await open.listen();
  });
  afterAll(() => open?.close());

  it("says so in a warning at start", () => {
    const warning = open.logs.find((line) =>
      String(line.msg).includes("ANTAEUS_AUTH_OPEN_ROUTES=original"),
    );
    expect(warning).toMatchObject({ level: "warn" });
  });

  it("answers the original's routes without a token, pay and a PingSource delivery included", async () => {
    for (const path of [
      "/",
      "/rest/health",
      "/rest/v1/invoices",
      "/rest/v1/invoices/1",
      "/rest/v1/customers",
      "/rest/v1/customers/1",
    ]) {
      expect((await fetch(`${openUrl}${path}`)).status, path).toBe(200);
    }
    expect([200, 202]).toContain(
      (await fetch(`${openUrl}/rest/v1/invoices/pay`, { method: "POST" })).status,
    );
    const event = pingDelivery({ source: "antaeus/monthly-billing", id: "open-1" });
    expect([200, 202]).toContain((await fetch(`${openUrl}/rest/v1/invoices/pay`, event)).status);
  });

  it("serves /metrics without a token on METRICS_PORT, and nothing else there", async () => {
    const port = open.logs.find((line) => line.msg === "metrics alone on their own port")?.port;
    expect(port).toEqual(expect.any(Number));
    const metricsPort = `http://127.0.0.1:${port}`;
    const metrics = await fetch(`${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("http_request_duration_seconds");
    expect((await fetch(`${metricsPort}/rest/v1/invoices`)).status).toBe(404);
  });

  it("still asks for a token everywhere else", async () => {
    for (const [method, path] of [
      ["GET", "/rest/v1/customers/1/invoices"],
      ["GET", "/rest/v1/invoices/1/attempts"],
      ["GET", "/rest/v1/billing/runs"],
      ["GET", "/metrics"],
      ["POST", "/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000"],
      ["POST", "/rest/v1/billing/resume"],
      ["POST", "/rest/v1/invoices/1/requeue"],
      ["POST", "/rest/v1/billing/runs/1/cancel"],
    ] as const) {
      await expectUnauthenticated(await fetch(`${openUrl}${path}`, { method }));
    }
  });
});

describe("which routes are open is always a decision", () => {
  it("npm start's default: auth off, said in one log line", async () => {
    const local = await inProcessAntaeus(
      {
        ...system.antaeusEnv,
        ANTAEUS_AUTH: "",
        ANTAEUS_AUTH_CONFIG_FILE: "",
        BILLING_SELF_TOKEN_FILE: "",
      },
      system.antaeus.databaseUrl,
    );
    try {
      expect(
        local.logs.filter((line) => String(line.msg).includes("ANTAEUS_AUTH=off")),
      ).toHaveLength(1);
      expect((await local.app.request("/rest/v1/billing/runs")).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  // Read by the loader the process reads its environment with; a ConfigError stops the start
  // with exit 1 and the message (antaeus/process › "configuration").
  it("NODE_ENV=production refuses to start until ANTAEUS_AUTH_OPEN_ROUTES is set, and refuses auth off", () => {
    const production = {
      ...system.antaeusEnv,
      NODE_ENV: "production",
      BILLING_LANE_URL: "http://antaeus-billing.antaeus.svc.cluster.local",
    };
    const unset = () => antaeusService.loadConfig(production);
    expect(unset).toThrow(ConfigError);
    expect(unset).toThrow("ANTAEUS_AUTH_OPEN_ROUTES: is required when NODE_ENV=production");
    const off = () =>
      antaeusService.loadConfig({
        ...production,
        ANTAEUS_AUTH: "off",
        ANTAEUS_AUTH_OPEN_ROUTES: "none",
      });
    expect(off).toThrow(ConfigError);
    expect(off).toThrow('ANTAEUS_AUTH: "off" is refused when NODE_ENV=production');
  });
});
