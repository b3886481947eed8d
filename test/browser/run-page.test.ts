import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunBody, type System, startSystem } from "../support/system.js";

/**
 * Debian's chromium, driven by playwright-core (which never downloads a browser). Where it is
 * missing the suite says so and skips, except under CI=true, where a missing browser fails.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const SCREENSHOTS = join(import.meta.dirname, "screenshots");

describe.skipIf(!haveChromium && process.env.CI !== "true")("the run page in a browser", () => {
  let system: System;
  let browser: Browser;
  let antaeus = "";
  let missingCustomerInvoice = 0;
  let runId = 0;
  let payCall: Promise<Response>;

  beforeAll(async () => {
    expect(haveChromium, `no browser at ${CHROMIUM}: apt-get install chromium`).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    // A run slow enough to watch: 301 invoices, 4 charges at a time, 60-90 ms each.
    system = await startSystem({
      antaeus: { SEED_CUSTOMERS: "30", SEED_INVOICES_PER_CUSTOMER: "10", BILLING_CONCURRENCY: "4" },
      payment: { PAYMENT_LATENCY_MS: "60-90" },
    });
    antaeus = system.antaeus[0]?.url ?? "";
    // One invoice billing cannot settle: its customer does not exist. It waits for a person.
    const [row] = await system.antaeusDb<[{ id: number }]>`
      insert into invoices (customer_id, currency, amount_minor, period)
      values (999999, 'USD', 1000, '2026-10-01') returning id`;
    missingCustomerInvoice = row.id;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-gpu"] });
    payCall = fetch(`${antaeus}/rest/v1/invoices/pay`, { method: "POST" });
    for (;;) {
      const runs = (await (await fetch(`${antaeus}/rest/v1/billing/runs`)).json()) as RunBody[];
      if (runs[0]) {
        runId = runs[0].id;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await browser?.close();
    await payCall?.catch(() => undefined);
    await system?.stop();
  });

  const runJson = async () =>
    (await (await fetch(`${antaeus}/rest/v1/billing/runs/${runId}`)).json()) as RunBody;

  it("follows a run live to 100%, its counts match the API, and the invoice waiting for a person links to its attempts", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${antaeus}/runs/${runId}`);
    const bar = page.getByLabel("Invoices settled");
    expect(await bar.evaluate((el) => el.tagName)).toBe("PROGRESS");
    const first = Number(await bar.getAttribute("value"));
    const total = Number(await bar.getAttribute("max"));
    expect(total).toBe((await runJson()).total);
    expect(first).toBeLessThan(total);

    // The bar moves without a reload (the page's script polls the run) while the run goes on.
    // Status and bar read together: a move seen while the page still says RUNNING was made by
    // the live script, not by a reload.
    const view = page.locator("[data-run]");
    const read = () =>
      view.evaluate((el) => ({
        status: el.getAttribute("data-status"),
        value: Number(el.querySelector("progress")?.getAttribute("value")),
      }));
    await expect
      .poll(async () => (await read()).value, { timeout: 30_000, interval: 100 })
      .toBeGreaterThan(first);
    const moved = await read();
    expect(moved.status).toBe("RUNNING");
    expect(moved.value).toBeLessThan(total);
    expect(await page.locator('[data-field="rate"]').textContent()).toMatch(/^[\d,.]+$/);
    await page.screenshot({ path: join(SCREENSHOTS, "run-in-progress.png"), fullPage: true });

    // It reaches the end and shows the final truth.
    await page.waitForSelector('[data-run][data-status="COMPLETED"]', { timeout: 60_000 });
    expect((await payCall).status).toBe(200);
    const run = await runJson();
    expect(run.status).toBe("COMPLETED");
    expect(Number(await bar.getAttribute("value"))).toBe(run.total);
    expect(await page.locator('[data-field="percent"]').textContent()).toBe("100%");
    expect(await page.locator('[data-field="done"]').textContent()).toBe(
      run.done.toLocaleString("en"),
    );
    for (const [outcome, count] of Object.entries(run.counts)) {
      expect(await page.locator(`[data-field="count-${outcome}"]`).textContent(), outcome).toBe(
        count.toLocaleString("en"),
      );
    }
    expect(run.counts.CUSTOMER_NOT_FOUND).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, "run-completed.png"), fullPage: true });

    const link = page.getByRole("link", { name: `attempts of invoice ${missingCustomerInvoice}` });
    expect(await link.getAttribute("href")).toBe(
      `/rest/v1/invoices/${missingCustomerInvoice}/attempts`,
    );
    const [response] = await Promise.all([page.waitForEvent("response"), link.click()]);
    expect(response.status()).toBe(200);
    const attempts = (await response.json()) as Array<{ invoiceId: number; outcome: string }>;
    expect(attempts.map((a) => [a.invoiceId, a.outcome])).toEqual([
      [missingCustomerInvoice, "CUSTOMER_NOT_FOUND"],
    ]);
    await page.close();
  });

  it("works with JavaScript off and from the keyboard: the page itself says the truth, the run list links to it", async () => {
    await payCall; // the run is over: the page is final
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${antaeus}/runs`);
    await page.keyboard.press("Tab");
    expect(await page.locator(":focus").textContent()).toBe("Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForURL(`${antaeus}/runs/${runId}`);
    const run = await runJson();
    expect(await page.locator('[data-field="done"]').textContent()).toBe(
      run.done.toLocaleString("en"),
    );
    expect(await page.locator(`[data-field="count-PAID"]`).textContent()).toBe(
      run.counts.PAID?.toLocaleString("en"),
    );
    await context.close();
  });
});
