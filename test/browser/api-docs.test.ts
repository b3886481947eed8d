import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type System, startSystem } from "../support/system.js";

/** Debian's chromium, as the run page's test drives it (test/browser/run-page.test.ts). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
const SCREENSHOTS = join(import.meta.dirname, "screenshots");

describe.skipIf(!haveChromium && process.env.CI !== "true")("/docs in a browser", () => {
  let system: System;
  let browser: Browser;

  beforeAll(async () => {
    expect(haveChromium, `no browser at ${CHROMIUM}: apt-get install chromium`).toBe(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    system = await startSystem();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--disable-gpu"] });
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  it.each(["antaeus", "payment"] as const)(
    "%s: the page renders every operation of its /openapi.json, breaks no rule of its CSP, and asks nothing of another origin",
    async (name) => {
      const base = name === "antaeus" ? (system.antaeus[0]?.url ?? "") : system.payment.url;
      const origin = new URL(base).origin;
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const elsewhere: string[] = [];
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (new URL(url).origin === origin) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      // Recorded by the page itself, from before its first script on.
      await page.addInitScript(`
        window.violations = [];
        document.addEventListener("securitypolicyviolation", (event) =>
          window.violations.push(event.violatedDirective + " " + event.blockedURI));
      `);

      const response = await page.goto(`${base}/docs`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toContain("default-src 'none'");
      const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const declared = Object.entries(openapi.paths)
        .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
        .sort();
      await page.waitForSelector(".opblock", { timeout: 30_000 });
      const rendered = await page
        .locator(".opblock")
        .evaluateAll((blocks) =>
          blocks.map(
            (block) =>
              `${block.querySelector(".opblock-summary-method")?.textContent} ${block.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`,
          ),
        );
      expect(rendered.sort()).toEqual(declared);

      // An operation opened: its schemas render from the same document.
      await page.locator(".opblock-summary").first().click();
      await page.waitForSelector(".opblock-body");
      await page.screenshot({ path: join(SCREENSHOTS, `api-docs-${name}.png`) });

      expect(await page.evaluate("window.violations")).toEqual([]);
      expect(elsewhere).toEqual([]);
      await page.close();
    },
  );
});
