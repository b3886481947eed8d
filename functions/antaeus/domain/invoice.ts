import type { Currency } from "../../kernel/money.js";
import type { InvoiceStatus } from "./status.js";

export interface Customer {
  id: number;
  currency: Currency;
}

export interface Invoice {
  id: number;
  customerId: number;
  amountMinor: bigint;
  currency: Currency;
  status: InvoiceStatus;
}
