import { z } from "zod";
import {
  boolean,
  integer,
  parseConfig,
  requireDatabaseInProduction,
  type ServiceConfig,
  serviceConfig,
  serviceEnv,
} from "../runtime/config.js";
import { isPeriod, type Period, periodOf } from "./domain/period.js";

const schema = z
  .object({
    ...serviceEnv,
    SEED_ENABLED: boolean(true),
    SEED: integer({ min: 0, max: 2 ** 32 - 1, default: 42 }),
    SEED_CUSTOMERS: integer({ min: 0, max: 1_000_000, default: 100 }),
    SEED_INVOICES_PER_CUSTOMER: integer({ min: 0, max: 1_000, default: 10 }),
    SEED_LAST_PERIOD: z
      .string()
      .refine((value) => isPeriod(`${value}-01`), { message: "expected a month as YYYY-MM" })
      .optional(),
  })
  .superRefine(requireDatabaseInProduction);

export interface AntaeusConfig extends ServiceConfig {
  seed: {
    enabled: boolean;
    seed: number;
    customers: number;
    invoicesPerCustomer: number;
    lastPeriod: Period;
  };
}

export function loadAntaeusConfig(
  env: Record<string, string | undefined> = process.env,
): AntaeusConfig {
  const parsed = parseConfig(schema, env);
  return {
    ...serviceConfig(parsed),
    seed: {
      enabled: parsed.SEED_ENABLED,
      seed: parsed.SEED,
      customers: parsed.SEED_CUSTOMERS,
      invoicesPerCustomer: parsed.SEED_INVOICES_PER_CUSTOMER,
      lastPeriod: parsed.SEED_LAST_PERIOD ? `${parsed.SEED_LAST_PERIOD}-01` : periodOf(new Date()),
    },
  };
}
