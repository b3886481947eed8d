CREATE SCHEMA "payment";
--> statement-breakpoint
CREATE TABLE "payment"."charges" (
	"id" text PRIMARY KEY NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"invoice_id" integer,
	"customer_id" integer NOT NULL,
	"currency" text NOT NULL,
	"amount_minor" bigint NOT NULL,
	"status" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "charges_currency_check" CHECK (currency in ('EUR', 'USD', 'DKK', 'SEK', 'GBP')),
	CONSTRAINT "charges_status_check" CHECK (status in ('succeeded', 'declined')),
	CONSTRAINT "charges_reason_check" CHECK (reason in ('insufficient_funds')),
	CONSTRAINT "charges_declined_has_reason" CHECK ((status = 'declined') = (reason is not null)),
	CONSTRAINT "charges_amount_positive" CHECK ("payment"."charges"."amount_minor" > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "charges_idempotency_key_key" ON "payment"."charges" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "charges_invoice_id_idx" ON "payment"."charges" USING btree ("invoice_id");