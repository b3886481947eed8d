CREATE TABLE "operator_actions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"action" text NOT NULL,
	"invoice_id" integer,
	"run_id" integer,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"previous_status" text,
	"invoices_unqueued" integer,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "operator_actions_action_check" CHECK ("operator_actions"."action" in ('requeue_invoice', 'cancel_run')),
	CONSTRAINT "operator_actions_target_check" CHECK (("operator_actions"."action" = 'requeue_invoice' and "operator_actions"."invoice_id" is not null) or ("operator_actions"."action" = 'cancel_run' and "operator_actions"."run_id" is not null))
);
--> statement-breakpoint
CREATE INDEX "operator_actions_invoice_idx" ON "operator_actions" USING btree ("invoice_id");--> statement-breakpoint
CREATE INDEX "operator_actions_run_idx" ON "operator_actions" USING btree ("run_id");