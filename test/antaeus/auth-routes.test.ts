import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBES, ROUTE_ACCESS } from "../../functions/antaeus/auth/access.js";
import { inProcessAntaeus } from "../support/in-process.js";

let checked: Awaited<ReturnType<typeof inProcessAntaeus>>;
beforeAll(async () => {
  checked = await inProcessAntaeus({ SEED_ENABLED: "false" });
});
afterAll(() => checked?.close());

describe("the route table (functions/antaeus/auth/access.ts)", () => {
  it("names exactly the routes the app serves: none is forgotten, none is stale", () => {
    const served = new Set(
      checked.app.routes
        .filter((route) => route.method === "GET" || route.method === "POST")
        .map((route) => `${route.method} ${route.path}`)
        .filter((route) => !PROBES.some((probe) => route === `GET ${probe}`)),
    );
    const listed = new Set(ROUTE_ACCESS.map((route) => `${route.method} ${route.path}`));
    expect([...served].sort()).toEqual([...listed].sort());
  });

  it("takes the run pages' cookie only on GET routes, and answers without a caller only the sign-in and the API's description", () => {
    expect(ROUTE_ACCESS.filter((route) => route.session && route.method !== "GET")).toEqual([]);
    expect(
      ROUTE_ACCESS.filter((route) => route.public).map((r) => `${r.method} ${r.path}`),
    ).toEqual([
      "GET /runs/sign-in",
      "POST /runs/sign-in",
      "POST /runs/sign-out",
      "GET /openapi.json",
      "GET /docs",
      "GET /docs/:asset",
    ]);
  });

  it("opens in the challenge profile the original's routes and nothing of ours", () => {
    expect(
      ROUTE_ACCESS.filter((route) => route.original)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([
      "GET /",
      "GET /rest/health",
      "GET /rest/v1/customers",
      "GET /rest/v1/customers/:id",
      "GET /rest/v1/invoices",
      "GET /rest/v1/invoices/:id",
      "POST /rest/v1/invoices/pay",
    ]);
  });
});
