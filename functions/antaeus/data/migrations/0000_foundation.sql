CREATE TABLE "customers" (
	"id" serial PRIMARY KEY NOT NULL,
	"currency" text NOT NULL,
	CONSTRAINT "customers_currency_check" CHECK (currency in ('EUR', 'USD', 'DKK', 'SEK', 'GBP'))
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" serial PRIMARY KEY NOT NULL,
	"customer_id" integer NOT NULL,
	"currency" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"period" date NOT NULL,
	CONSTRAINT "invoices_currency_check" CHECK (currency in ('EUR', 'USD', 'DKK', 'SEK', 'GBP')),
	CONSTRAINT "invoices_status_check" CHECK (status in ('PENDING', 'PAID')),
	CONSTRAINT "invoices_amount_positive" CHECK ("invoices"."amount_minor" > 0),
	CONSTRAINT "invoices_period_first_of_month" CHECK (extract(day from "invoices"."period") = 1)
);
--> statement-breakpoint
CREATE INDEX "invoices_customer_id_idx" ON "invoices" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "invoices_status_idx" ON "invoices" USING btree ("status");