/** Who asked for a run: a person or client over the API, or the PingSource's CloudEvent. */
export type Trigger =
  | { kind: "api" }
  | { kind: "schedule"; source: string; eventId: string; eventTime: Date | undefined };

export const RUN_TRIGGERS = ["api", "schedule"] as const satisfies readonly Trigger["kind"][];
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const RUN_STATUSES = ["RUNNING", "COMPLETED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const [RUNNING, COMPLETED] = RUN_STATUSES;
