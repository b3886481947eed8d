import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessSystem, inProcessSystem } from "../support/in-process.js";
import { pay, waitForRun } from "../support/system.js";

let system: InProcessSystem;
let antaeus = "";

beforeAll(async () => {
  system = await inProcessSystem({
    antaeus: { SEED_CUSTOMERS: "5", SEED_INVOICES_PER_CUSTOMER: "2" },
  });
  antaeus = system.url;
});
afterAll(() => system?.stop());

const page = (path: string, init?: RequestInit) => fetch(`${antaeus}${path}`, init);

describe("the run pages over HTTP", () => {
  it("say there is no run yet, as HTML a browser may run only its own script in", async () => {
    const response = await page("/runs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const html = await response.text();
    expect(html).toContain("No billing run yet");
    // The policy names the inline script by its hash: a changed script that kept an old hash
    // would not run at all in a browser.
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    const hash = createHash("sha256").update(script).digest("base64");
    expect(response.headers.get("content-security-policy")).toContain(
      `script-src 'sha256-${hash}'`,
    );
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("show a finished run with the API's figures, and list it", async () => {
    const { body } = await pay(antaeus);
    const run = await waitForRun(antaeus, body.id);
    const html = await (await page(`/runs/${run.id}`)).text();
    expect(html).toContain('data-status="COMPLETED"');
    expect(html).toContain(
      `<progress id="run-progress" data-field="bar" max="${run.total}" value="${run.done}">100%</progress>`,
    );
    for (const [outcome, count] of Object.entries(run.counts)) {
      expect(html).toContain(`data-field="count-${outcome}">${count}</td>`);
    }
    // Finished: nothing refreshes it any more.
    expect(html).not.toContain('http-equiv="refresh"');
    const list = await (await page("/runs")).text();
    expect(list).toContain(`<a href="/runs/${run.id}">Run ${run.id}</a>`);
  });

  it("answer a bad or unknown run id, or another method, in the API's JSON error shape", async () => {
    const bad = await page("/runs/abc");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBeTruthy();
    const missing = await page("/runs/999999");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain(
      "billing run 999999",
    );
    const post = await page("/runs", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toMatch(/^GET\b/);
  });
});
