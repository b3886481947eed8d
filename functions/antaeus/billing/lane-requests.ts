import type { Logger } from "../../runtime/index.js";
import type { LaneSlot } from "../data/lanes.js";
import type { TokenFile } from "./token-file.js";

/**
 * Knative only lets a pod work while a request is open, and ends each request at the service's
 * timeout. So a lane is a request: to start one, or to hand one on when its budget is spent,
 * Antaeus sends a request to the billing lanes' Knative Service (BILLING_LANE_URL; through
 * Knative, so the autoscaler sees the work and puts each lane on a pod of its own) and keeps that
 * connection open until it is answered. docs/billing.md has the whole design.
 */
export class LaneRequests {
  private port = 0;

  constructor(
    private readonly laneUrl: string | undefined,
    private readonly logger: Logger,
    /** Antaeus's own token: with auth on, only it may work a lane. */
    private readonly token?: TokenFile,
  ) {}

  /** Outside Knative the lanes run in this process, reached on its own port once it listens. */
  listeningOn(port: number): void {
    this.port = port;
  }

  start(runId: number, slot: LaneSlot): void {
    const base = this.laneUrl ?? `http://127.0.0.1:${this.port}`;
    const url = new URL(`/rest/v1/billing/runs/${runId}/lanes/${slot.lane}`, base);
    url.searchParams.set("holder", slot.holder);
    // undici is loaded when first needed (see provider.ts). The token is read inside the chain,
    // so a missing file is a lane that did not start, logged, not a throw.
    import("undici")
      .then(({ default: { request } }) => {
        const headers = this.token ? { authorization: `Bearer ${this.token.current()}` } : {};
        return request(url, { method: "POST", headers, headersTimeout: 0, bodyTimeout: 0 });
      })
      .then(async (response) => {
        const text = await response.body.text();
        this.logger.debug(
          { runId, lane: slot.lane, status: response.statusCode, answer: text.slice(0, 200) },
          "lane answered",
        );
      })
      .catch((error: unknown) => {
        this.logger.warn(
          { err: error, runId, lane: slot.lane },
          "lane request failed; the run's other lanes, the next pay call or the watchdog start it again",
        );
      });
    this.logger.info({ runId, lane: slot.lane, url: url.origin }, "lane started in a new request");
  }
}
