/**
 * Who asked for a run: a person or client over the API, the monthly PingSource's CloudEvent, or
 * the watchdog finding scheduled retries due.
 */
export type Trigger =
  | { kind: "api" }
  | { kind: "schedule"; source: string; eventId: string; eventTime: Date | undefined }
  | { kind: "retry" };

/** A trigger of the pay route: always starts or joins a run. */
export type PayTrigger = Exclude<Trigger, { kind: "retry" }>;

export const RUN_TRIGGERS = [
  "api",
  "schedule",
  "retry",
] as const satisfies readonly Trigger["kind"][];
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_STATUSES = ["RUNNING", "COMPLETED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const [RUNNING, COMPLETED] = RUN_STATUSES;
