import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { declare, jsonArrayResponse, jsonContent, type Router } from "../../runtime/index.js";
import type { Db } from "../data/database.js";
import { findInvoice, type InvoiceFilter, invoicePage } from "../data/invoices.js";
import { notFound } from "../errors.js";
import { invoiceJson } from "./json.js";
import { idParams, invoiceFilterQuery } from "./params.js";
import { InvoiceSchema, invalid, notFoundContent, refusals } from "./schemas.js";

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

const list = createRoute({
  method: "get",
  path: "/rest/v1/invoices",
  tags: ["invoices"],
  summary: "Every invoice, in id order, streamed page by page",
  request: { query: invoiceFilterQuery },
  responses: {
    200: jsonContent(z.array(InvoiceSchema), "the invoices"),
    400: invalid,
    ...refusals,
  },
});

const one = createRoute({
  method: "get",
  path: "/rest/v1/invoices/{id}",
  tags: ["invoices"],
  summary: "One invoice",
  request: { params: idParams("invoice id") },
  responses: {
    200: jsonContent(InvoiceSchema, "the invoice"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

export function invoiceRoutes(app: Router, db: Db): void {
  declare(app, list, (c) => jsonArrayResponse(c, invoicePages(db, c.req.valid("query"))));
  declare(app, one, async (c) => {
    const { id } = c.req.valid("param");
    const invoice = await findInvoice(db, id);
    if (!invoice) throw notFound(`invoice ${id}`);
    return c.body(invoiceJson(invoice), 200, { "Content-Type": "application/json" });
  });
}
