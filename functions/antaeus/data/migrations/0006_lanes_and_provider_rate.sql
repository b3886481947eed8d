CREATE TABLE "billing_lanes" (
	"run_id" integer NOT NULL,
	"lane" integer NOT NULL,
	"holder" uuid,
	"worker" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"invoices" integer DEFAULT 0 NOT NULL,
	"invoices_per_second" real DEFAULT 0 NOT NULL,
	"calls_per_second" real DEFAULT 0 NOT NULL,
	"throttled" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "billing_lanes_run_id_lane_pk" PRIMARY KEY("run_id","lane")
);
--> statement-breakpoint
CREATE TABLE "provider_rate" (
	"id" integer PRIMARY KEY NOT NULL,
	"rate" real,
	"decreased_at" timestamp with time zone,
	"paused_until" timestamp with time zone,
	"shares" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "provider_rate_one_row" CHECK (id = 1)
);
--> statement-breakpoint
ALTER TABLE "billing_lanes" ADD CONSTRAINT "billing_lanes_run_id_billing_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."billing_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
INSERT INTO "provider_rate" ("id") VALUES (1);
