// .openapi() on zod's schemas is added by @hono/zod-openapi as it loads.
import "@hono/zod-openapi";
import * as z from "zod";
import { INVOICE_STATUSES, isInvoiceStatus } from "../domain/status.js";
import { failWith } from "../errors.js";

/** PostgreSQL `serial` ids: 1 … 2^31-1. */
export const MAX_ID = 2_147_483_647;

/** Ids are parsed at the edge: anything but a positive 32-bit integer is the client's mistake. */
export const idOf = (name: string) =>
  z
    .string()
    .refine(
      (raw) => /^\d{1,10}$/.test(raw),
      failWith(
        "invalid_id",
        (raw) => `${name} must be a positive integer, got "${String(raw).slice(0, 40)}"`,
      ),
    )
    .refine(
      (raw) => {
        const id = Number(raw);
        return id >= 1 && id <= MAX_ID;
      },
      failWith("invalid_id", (raw) => `${name} must be between 1 and ${MAX_ID}, got ${raw}`),
    )
    .transform(Number)
    .openapi({ type: "string", pattern: "^[0-9]{1,10}$", example: "1" });

/** `/:id` of the named thing. */
export const idParams = (name: string) =>
  z.object({ id: idOf(name).openapi({ param: { name: "id", in: "path" } }) });

/** A run's lane, `/…/runs/:id/lanes/:lane`: 1 to 64, as BILLING_LANES allows. */
export const laneParams = z.object({
  id: idOf("run id").openapi({ param: { name: "id", in: "path" } }),
  lane: z
    .string()
    .refine(
      (raw) => /^\d{1,2}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 64,
      failWith(
        "invalid_id",
        (raw) => `lane must be an integer from 1 to 64, got "${String(raw).slice(0, 40)}"`,
      ),
    )
    .transform(Number)
    .openapi({ param: { name: "lane", in: "path" }, type: "string", pattern: "^[0-9]{1,2}$" }),
});

/** Which start of the lane a request is: the holder the slot was given (data/lanes.ts). */
export const laneQuery = z.object({
  holder: z
    .string()
    .refine(
      (raw) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(raw),
      failWith("invalid_query", () => "holder must be a lowercase UUID"),
    )
    .openapi({ type: "string", format: "uuid" }),
});

const status = z
  .string()
  .refine(
    isInvoiceStatus,
    failWith(
      "invalid_status",
      (raw) =>
        `status must be one of ${INVOICE_STATUSES.join(", ")}, got "${String(raw).slice(0, 40)}"`,
    ),
  )
  .transform((raw) => raw as (typeof INVOICE_STATUSES)[number])
  .openapi({ type: "string", enum: [...INVOICE_STATUSES] });

/** The invoice filters; each given at most once, since repeating one is ambiguous. */
export const invoiceFilterQuery = z.object({
  status: status.optional(),
  customerId: idOf("customerId").optional(),
});

/** Filters of a customer's invoices: the customer is the path's. */
export const statusQuery = z.object({ status: status.optional() });

export const runListQuery = z.object({
  limit: z
    .string()
    .refine(
      (raw) => /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 500,
      failWith("invalid_query", () => "limit must be an integer from 1 to 500"),
    )
    .transform(Number)
    .optional()
    .openapi({ type: "string", pattern: "^[0-9]+$", example: "50" }),
});

export const eventListQuery = z.object({
  limit: z
    .string()
    .refine(
      (raw) => /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 1000,
      failWith("invalid_query", () => "limit must be an integer from 1 to 1000"),
    )
    .transform(Number)
    .optional()
    .openapi({ type: "string", pattern: "^[0-9]+$", example: "100" }),
  pending: z
    .string()
    .refine(
      (raw) => raw === "true" || raw === "false",
      failWith("invalid_query", () => "pending must be true or false"),
    )
    .transform((raw) => raw === "true")
    .optional()
    .openapi({ type: "string", enum: ["true", "false"] }),
});
