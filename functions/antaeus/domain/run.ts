/**
 * Who asked for a run: a person or client over the API, the monthly PingSource's CloudEvent, or
 * the watchdog finding scheduled retries due.
 */
export type Trigger =
  | {
      kind: "api";
      /**
       * Soft declines are charged now, their retry due or not: a person with the billing role
       * asked. Otherwise a pay call bills as the schedule does (docs/billing.md).
       */
      chargeNow: boolean;
    }
  | ScheduleTrigger
  | { kind: "retry" };

/** The monthly PingSource's event, known by its source and id. */
export type ScheduleTrigger = {
  kind: "schedule";
  source: string;
  eventId: string;
  eventTime: Date | undefined;
};

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

/**
 * A lane of a run as seen from outside: `starting` until its request arrives, `working` while it
 * ticks, `silent` when it stopped without ending (its pod died: it is started again after a
 * lease), `ended` when its run needed it no more.
 */
export const LANE_STATES = ["starting", "working", "silent", "ended"] as const;
export type LaneState = (typeof LANE_STATES)[number];
