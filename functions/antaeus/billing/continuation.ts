import type { Logger } from "../../runtime/index.js";
import type { TokenFile } from "./token-file.js";

/**
 * Knative only lets a pod work while a request is open, and ends each request at the service's
 * timeout. A run that outlives one request's budget hands itself on: before answering, the request
 * opens a new one to this service's own route (through Knative, so any replica may take it, and
 * the autoscaler sees the work) and keeps that connection open until it is answered. Each link
 * does the same, so the run finishes with nobody watching. docs/billing.md has the whole design.
 */
export class Continuations {
  private port = 0;

  constructor(
    private readonly selfUrl: string | undefined,
    private readonly logger: Logger,
    /** Antaeus's own token: with auth on, only it (and the PingSources) may continue a run. */
    private readonly token?: TokenFile,
  ) {}

  /** Outside Knative the service continues itself on its own port, known once it listens. */
  listeningOn(port: number): void {
    this.port = port;
  }

  start(runId: number): void {
    const base = this.selfUrl ?? `http://127.0.0.1:${this.port}`;
    const url = new URL(`/rest/v1/billing/runs/${runId}/continue`, base);
    // undici is loaded when first needed (see provider.ts), here by the first hand-over. The
    // token is read inside the chain, so a missing file is a failed link, logged, not a throw.
    import("undici")
      .then(({ default: { request } }) => {
        const headers = this.token ? { authorization: `Bearer ${this.token.current()}` } : {};
        return request(url, { method: "POST", headers, headersTimeout: 0, bodyTimeout: 0 });
      })
      .then(async (response) => {
        const text = await response.body.text();
        this.logger.debug(
          { runId, status: response.statusCode, answer: text.slice(0, 200) },
          "continuation answered",
        );
      })
      .catch((error: unknown) => {
        this.logger.warn(
          { err: error, runId },
          "continuation request failed; the run waits for the next pay call",
        );
      });
    this.logger.info(
      { runId, url: url.toString() },
      "budget spent: run continues in a new request",
    );
  }
}
