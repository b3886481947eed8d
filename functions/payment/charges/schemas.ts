// .openapi() on zod's schemas is added by @hono/zod-openapi as it loads.
import "@hono/zod-openapi";
import * as z from "zod";
import { CURRENCIES } from "../../kernel/money.js";
import type { ChargeFilter } from "../data/charges.js";
import { CHARGE_STATUSES, DECLINE_REASONS } from "../domain/charge.js";
import { failWith } from "../errors.js";
import { IDEMPOTENCY_KEY } from "./idempotency-key.js";

/** Ids are PostgreSQL `integer`s, as Antaeus's are. */
export const MAX_ID = 2_147_483_647;

/** GET /v1/charges asks by exactly one of idempotency_key or invoice_id. */
export const LedgerQuery = z
  .object({
    idempotency_key: z
      .string()
      .refine(
        (key) => IDEMPOTENCY_KEY.test(key),
        failWith(
          "invalid_idempotency_key",
          () => "idempotency_key must be 1 to 255 printable ASCII characters",
        ),
      )
      .optional(),
    invoice_id: z
      .string()
      .refine(
        (raw) => /^\d{1,10}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_ID,
        failWith("invalid_query", () => `invoice_id must be an integer between 1 and ${MAX_ID}`),
      )
      .transform(Number)
      .optional()
      .openapi({ type: "string", pattern: "^[0-9]{1,10}$" }),
  })
  .refine(
    (query) => (query.idempotency_key === undefined) !== (query.invoice_id === undefined),
    failWith("invalid_query", () => "give exactly one of idempotency_key or invoice_id"),
  )
  .transform(
    (query): ChargeFilter =>
      query.idempotency_key !== undefined
        ? { idempotencyKey: query.idempotency_key }
        : { invoiceId: query.invoice_id as number },
  );

/** A charge as POST /v1/charges answers it (chargeJson). */
export const ChargeSchema = z
  .object({
    result: z.boolean(),
    reason: z.enum(DECLINE_REASONS).optional(),
    charge_id: z.string(),
    status: z.enum(CHARGE_STATUSES),
    invoice_id: z.number().int().nullable(),
    customer_id: z.number().int(),
    currency: z.enum(CURRENCIES).nullable(),
    value: z.number(),
    idempotency_key: z.string().nullable(),
  })
  .openapi("Charge");

export const LedgerSchema = z
  .object({ charges: z.array(ChargeSchema.extend({ created_at: z.string() })) })
  .openapi("Ledger");

/**
 * The charge request body, for the document only: request.ts parses it (its order of checks and
 * its 415 and invalid_json answers are the contract's), so this schema is not run on requests.
 */
export const chargeBodyDocument = {
  type: "object",
  required: ["customer_id", "currency", "value"],
  properties: {
    customer_id: { type: "integer", minimum: 1, maximum: MAX_ID },
    invoice_id: { type: ["integer", "null"], minimum: 1, maximum: MAX_ID },
    currency: {
      oneOf: [
        { type: "string", enum: [...CURRENCIES] },
        {
          type: "object",
          maxProperties: 0,
          description: "not stated (the original client's {})",
        },
      ],
    },
    value: {
      oneOf: [
        { type: "number", exclusiveMinimum: 0 },
        { type: "string", pattern: "^[0-9]+(\\.[0-9]{1,2})?$" },
      ],
      description: "at most two decimals, at most 9999999999999.99",
    },
  },
} as const;
