import { Hono } from "hono";
import type { AppEnv } from "../../runtime/index.js";
import { jsonArrayResponse, methodNotAllowed, notFound } from "../../runtime/index.js";
import type { Db } from "../data/database.js";
import { findInvoice, type InvoiceFilter, invoicePage } from "../data/invoices.js";
import { parseId } from "./ids.js";
import { invoiceJson } from "./json.js";
import { invoiceFilter } from "./params.js";

const PAGE_SIZE = 1_000;

/** Every matching invoice in id order, one page in memory at a time. */
export async function* invoicePages(db: Db, filter: InvoiceFilter): AsyncGenerator<string[]> {
  let afterId = 0;
  for (;;) {
    const page = await invoicePage(db, filter, afterId, PAGE_SIZE);
    if (page.length > 0) yield page.map(invoiceJson);
    if (page.length < PAGE_SIZE) return;
    afterId = page[page.length - 1]?.id ?? afterId;
  }
}

export function invoiceRoutes(db: Db): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/", (c) => jsonArrayResponse(c, invoicePages(db, invoiceFilter(c))));
  routes.all("/", methodNotAllowed(["GET"]));
  routes.get("/:id", async (c) => {
    const id = parseId(c.req.param("id"), "invoice id");
    const invoice = await findInvoice(db, id);
    if (!invoice) throw notFound(`invoice ${id}`);
    return c.body(invoiceJson(invoice), 200, { "Content-Type": "application/json" });
  });
  routes.all("/:id", methodNotAllowed(["GET"]));
  return routes;
}
