import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import { declare, jsonArrayResponse, jsonContent, type Router } from "../../runtime/index.js";
import { findCustomer, listCustomers } from "../data/customers.js";
import type { Db } from "../data/database.js";
import { notFound } from "../errors.js";
import { invoicePages } from "./invoices.js";
import { customerJson } from "./json.js";
import { idParams, statusQuery } from "./params.js";
import { CustomerSchema, InvoiceSchema, invalid, notFoundContent, refusals } from "./schemas.js";

const list = createRoute({
  method: "get",
  path: "/rest/v1/customers",
  tags: ["customers"],
  summary: "Every customer",
  responses: { 200: jsonContent(z.array(CustomerSchema), "the customers"), ...refusals },
});

const one = createRoute({
  method: "get",
  path: "/rest/v1/customers/{id}",
  tags: ["customers"],
  summary: "One customer",
  request: { params: idParams("customer id") },
  responses: {
    200: jsonContent(CustomerSchema, "the customer"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

const invoices = createRoute({
  method: "get",
  path: "/rest/v1/customers/{id}/invoices",
  tags: ["customers"],
  summary: "A customer's invoices, in id order, streamed page by page",
  request: { params: idParams("customer id"), query: statusQuery },
  responses: {
    200: jsonContent(z.array(InvoiceSchema), "the customer's invoices"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

export function customerRoutes(app: Router, db: Db): void {
  declare(app, list, async (c) => {
    const customers = await listCustomers(db);
    return c.body(`[${customers.map(customerJson).join(",")}]`, 200, {
      "Content-Type": "application/json",
    });
  });
  declare(app, one, async (c) => {
    const { id } = c.req.valid("param");
    const customer = await findCustomer(db, id);
    if (!customer) throw notFound(`customer ${id}`);
    return c.body(customerJson(customer), 200, { "Content-Type": "application/json" });
  });
  declare(app, invoices, async (c) => {
    const { id } = c.req.valid("param");
    const filter = { ...c.req.valid("query"), customerId: id };
    if (!(await findCustomer(db, id))) throw notFound(`customer ${id}`);
    return jsonArrayResponse(c, invoicePages(db, filter));
  });
}
