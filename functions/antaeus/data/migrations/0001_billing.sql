CREATE TABLE "billing_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"status" text DEFAULT 'RUNNING' NOT NULL,
	"due_through" date NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"total" integer DEFAULT 0 NOT NULL,
	"paid" integer DEFAULT 0 NOT NULL,
	"declined" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"network_error" integer DEFAULT 0 NOT NULL,
	"currency_mismatch" integer DEFAULT 0 NOT NULL,
	"customer_not_found" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "billing_runs_status_check" CHECK (status in ('RUNNING', 'COMPLETED')),
	CONSTRAINT "billing_runs_trigger_check" CHECK (trigger in ('api', 'schedule'))
);
--> statement-breakpoint
CREATE TABLE "billing_triggers" (
	"source" text NOT NULL,
	"event_id" text NOT NULL,
	"event_time" timestamp with time zone,
	"run_id" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"invoice_id" integer NOT NULL,
	"run_id" integer NOT NULL,
	"attempt_number" integer NOT NULL,
	"idempotency_key" uuid,
	"outcome" text NOT NULL,
	"http_status" integer,
	"latency_ms" integer NOT NULL,
	"charge_id" text,
	"error" text,
	"attempted_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "invoices" DROP CONSTRAINT "invoices_status_check";--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "run_id" integer;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "attempt_key" uuid;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_triggers" ADD CONSTRAINT "billing_triggers_run_id_billing_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."billing_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_run_id_billing_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."billing_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "billing_runs_one_running" ON "billing_runs" USING btree ((true)) WHERE "billing_runs"."status" = 'RUNNING';--> statement-breakpoint
CREATE UNIQUE INDEX "billing_triggers_event" ON "billing_triggers" USING btree ("source","event_id");--> statement-breakpoint
CREATE INDEX "payment_attempts_invoice_idx" ON "payment_attempts" USING btree ("invoice_id","attempt_number");--> statement-breakpoint
CREATE INDEX "invoices_run_queue_idx" ON "invoices" USING btree ("run_id","id") WHERE "invoices"."run_id" is not null;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_status_check" CHECK (status in ('PENDING', 'PROCESSING', 'PAID', 'DECLINED', 'REJECTED', 'NETWORK_ERROR', 'CURRENCY_MISMATCH', 'CUSTOMER_NOT_FOUND'));