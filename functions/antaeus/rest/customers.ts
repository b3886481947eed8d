import { Hono } from "hono";
import type { AppEnv } from "../../runtime/index.js";
import { jsonArrayResponse, methodNotAllowed, notFound } from "../../runtime/index.js";
import { findCustomer, listCustomers } from "../data/customers.js";
import type { Db } from "../data/database.js";
import { parseId } from "./ids.js";
import { invoicePages } from "./invoices.js";
import { customerJson } from "./json.js";
import { invoiceFilter } from "./params.js";

export function customerRoutes(db: Db): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/", async (c) => {
    const customers = await listCustomers(db);
    return c.body(`[${customers.map(customerJson).join(",")}]`, 200, {
      "Content-Type": "application/json",
    });
  });
  routes.all("/", methodNotAllowed(["GET"]));
  routes.get("/:id", async (c) => {
    const id = parseId(c.req.param("id"), "customer id");
    const customer = await findCustomer(db, id);
    if (!customer) throw notFound(`customer ${id}`);
    return c.body(customerJson(customer), 200, { "Content-Type": "application/json" });
  });
  routes.all("/:id", methodNotAllowed(["GET"]));
  routes.get("/:id/invoices", async (c) => {
    const id = parseId(c.req.param("id"), "customer id");
    const filter = { ...invoiceFilter(c), customerId: id };
    if (!(await findCustomer(db, id))) throw notFound(`customer ${id}`);
    return jsonArrayResponse(c, invoicePages(db, filter));
  });
  routes.all("/:id/invoices", methodNotAllowed(["GET"]));
  return routes;
}
