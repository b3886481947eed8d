import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../runtime/index.js";
import type { FaultConfig } from "../config.js";
import type { Randomness } from "./randomness.js";

/** The provider misbehaving on purpose, so Antaeus can be tested against it. */
export function faultInjector(faults: FaultConfig, randomness: Randomness) {
  const errorDraw = randomness.stream("error");
  const latencyDraw = randomness.stream("latency");
  const lateDraw = randomness.stream("late-reply");
  return {
    /** Whether this request meets the simulated outage; drawn before anything is charged. */
    unavailable(): boolean {
      return faults.errorRate > 0 && errorDraw() < faults.errorRate;
    },
    async delayBeforeCharge(): Promise<void> {
      const range = faults.latencyMs;
      if (!range) return;
      await sleep(range.min + Math.floor(latencyDraw() * (range.max - range.min + 1)));
    },
    /** Whether this charge's answer is held back; after the commit, the caller may give up. */
    async delayReply(): Promise<boolean> {
      const late = faults.lateReply;
      if (!late || lateDraw() >= late.rate) return false;
      await sleep(late.ms);
      return true;
    },
  };
}

export type FaultInjector = ReturnType<typeof faultInjector>;

/** One warning per fault that is on: nobody should test against a broken provider unawares. */
export function warnAboutFaults(faults: FaultConfig, logger: Logger): void {
  if (faults.errorRate > 0) {
    logger.warn({ errorRate: faults.errorRate }, "fault on: answering 503 to a share of charges");
  }
  if (faults.latencyMs) {
    logger.warn({ latencyMs: faults.latencyMs }, "fault on: delaying every charge");
  }
  if (faults.lateReply) {
    logger.warn(
      { lateReplyMs: faults.lateReply.ms, lateReplyRate: faults.lateReply.rate },
      "fault on: charging, then answering late",
    );
  }
}
