CREATE TABLE "billing_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" text NOT NULL,
	"subject" text NOT NULL,
	"data" jsonb NOT NULL,
	"time" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"failures" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "billing_runs" DROP CONSTRAINT "billing_runs_trigger_check";--> statement-breakpoint
ALTER TABLE "invoices" DROP CONSTRAINT "invoices_status_check";--> statement-breakpoint
ALTER TABLE "billing_runs" ADD COLUMN "retries_exhausted" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD COLUMN "hard_declined" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD COLUMN "retries" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD COLUMN "recovered" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "declines" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "dunning_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "next_retry_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN "retry" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD COLUMN "decline_reason" text;--> statement-breakpoint
CREATE INDEX "billing_events_undelivered_idx" ON "billing_events" USING btree ("next_attempt_at") WHERE "billing_events"."delivered_at" is null;--> statement-breakpoint
CREATE INDEX "invoices_next_retry_idx" ON "invoices" USING btree ("next_retry_at") WHERE "invoices"."next_retry_at" is not null;--> statement-breakpoint
ALTER TABLE "billing_runs" ADD CONSTRAINT "billing_runs_trigger_check" CHECK (trigger in ('api', 'schedule', 'retry'));--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_status_check" CHECK (status in ('PENDING', 'PROCESSING', 'PAID', 'DECLINED', 'RETRIES_EXHAUSTED', 'HARD_DECLINED', 'REJECTED', 'NETWORK_ERROR', 'OUTCOME_UNKNOWN', 'CURRENCY_MISMATCH', 'CUSTOMER_NOT_FOUND'));