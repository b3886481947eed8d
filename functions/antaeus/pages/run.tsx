import type { WaitingInvoice } from "../data/overview.js";
import type { runDetailJson } from "../rest/billing.js";
import { Page } from "./layout.js";
import { formatDuration, formatRate, paceOf } from "./progress.js";
import { triggerText, When } from "./runs.js";

type Run = Awaited<ReturnType<typeof runDetailJson>>;

/** What each outcome means to the person reading the page. */
const OUTCOME_TEXT: Record<string, string> = {
  PAID: "charged",
  DECLINED: "declined by the provider; charged again next run",
  REJECTED: "refused by the provider; charged again next run",
  NETWORK_ERROR: "no sure answer; asked again next run",
  OUTCOME_UNKNOWN: "may be charged; waits for a person",
  CURRENCY_MISMATCH: "currency differs from the customer's; waits for a person",
  CUSTOMER_NOT_FOUND: "no such customer; waits for a person",
};

/**
 * One run: a progress bar with done of total, speed and time left, counts by outcome, and the
 * invoices it left for a person with links to their attempts. Rendered complete on the server;
 * live.ts keeps the figures moving while it runs.
 */
export function RunPage(props: {
  signedInAs?: string | undefined;
  run: Run;
  elapsedSeconds: number;
  waiting: WaitingInvoice[];
  waitingLimit: number;
}) {
  const { run } = props;
  const pace = paceOf(run.done, run.total, props.elapsedSeconds);
  const running = run.status === "RUNNING";
  return (
    <Page
      title={`Run ${run.id} · Antaeus`}
      signedInAs={props.signedInAs}
      {...(running ? { refreshSeconds: 5 } : {})}
    >
      <div
        data-run={String(run.id)}
        data-status={run.status}
        data-poll={`/rest/v1/billing/runs/${run.id}`}
        data-done={String(run.done)}
      >
        <h1>Billing run {run.id}</h1>
        <p>
          <span class={`status-${run.status}`} data-field="status">
            {running ? "Running" : "Completed"}
          </span>
          . Started by the {triggerText(run.trigger)} at <When at={run.startedAt} />
          {run.finishedAt ? (
            <>
              , finished at <When at={run.finishedAt} />
            </>
          ) : null}
          ; bills invoices due through {run.dueThrough.slice(0, 7)}.
        </p>
        {/* Shown first and in words: a run of refusals is a configuration problem, not a bad month. */}
        <p class="alert" role="alert" data-field="refusal" hidden={run.refusal === null}>
          {run.refusal?.message ?? ""}
        </p>

        <section aria-labelledby="progress-heading">
          <h2 id="progress-heading">Progress</h2>
          <label for="run-progress">Invoices settled</label>
          <progress
            id="run-progress"
            data-field="bar"
            max={String(Math.max(run.total, 1))}
            value={String(run.total === 0 ? 1 : run.done)}
          >
            {pace.percent}%
          </progress>
          <p class="figures" role="status" aria-live="polite" aria-atomic="true">
            <strong>
              <span data-field="done">{run.done.toLocaleString("en")}</span> of{" "}
              <span data-field="total">{run.total.toLocaleString("en")}</span>
            </strong>{" "}
            (<span data-field="percent">{pace.percent}%</span>) ·{" "}
            <span data-field="rate">{formatRate(pace.perSecond)}</span> invoices/s
            {running ? (
              <>
                {" "}
                · <span data-field="left">{formatDuration(pace.secondsLeft)}</span> left
              </>
            ) : null}
          </p>
          <p class="muted" data-field="connection" />
        </section>

        <section aria-labelledby="lanes-heading">
          <h2 id="lanes-heading">Lanes</h2>
          <p>
            <span data-field="lanes-working">
              {run.lanes.filter((lane) => lane.state === "working").length}
            </span>{" "}
            of {run.lanes.length} {run.lanes.length === 1 ? "lane" : "lanes"} working. Provider
            calls:{" "}
            <span data-field="provider-calls">{formatRate(run.provider.callsPerSecond)}</span>
            /s
            {run.provider.rate === null ? (
              ", no rate limit"
            ) : (
              <>
                {" "}
                of <span data-field="provider-rate">{formatRate(run.provider.rate)}</span>/s allowed
                now
                {run.provider.limit === null ? "" : ` (limit ${run.provider.limit}/s)`}
              </>
            )}
            ; <span data-field="provider-throttled">{run.provider.throttled}</span> answered 429.
          </p>
          {run.lanes.length === 0 ? null : (
            <div class="scroll">
              <table data-lanes={String(run.lanes.length)}>
                <caption>Each lane is a chain of requests, on a pod of its own</caption>
                <thead>
                  <tr>
                    <th scope="col">Lane</th>
                    <th scope="col">State</th>
                    <th scope="col">Worker</th>
                    <th scope="col" class="number">
                      Invoices
                    </th>
                    <th scope="col" class="number">
                      Invoices/s
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {run.lanes.map((lane) => (
                    <tr>
                      <th scope="row">{lane.lane}</th>
                      <td data-field={`lane-${lane.lane}-state`}>{lane.state}</td>
                      <td data-field={`lane-${lane.lane}-worker`}>{lane.worker ?? "–"}</td>
                      <td class="number" data-field={`lane-${lane.lane}-invoices`}>
                        {lane.invoices.toLocaleString("en")}
                      </td>
                      <td class="number" data-field={`lane-${lane.lane}-rate`}>
                        {formatRate(lane.invoicesPerSecond)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section aria-labelledby="outcomes-heading">
          <h2 id="outcomes-heading">Outcomes</h2>
          <div class="scroll">
            <table>
              <caption>Invoices this run settled, by outcome</caption>
              <thead>
                <tr>
                  <th scope="col">Outcome</th>
                  <th scope="col" class="number">
                    Invoices
                  </th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(run.counts).map(([outcome, count]) => (
                  <tr>
                    <th scope="row">
                      {outcome}
                      <span class="meaning">{OUTCOME_TEXT[outcome] ?? ""}</span>
                    </th>
                    <td class="number" data-field={`count-${outcome}`}>
                      {count.toLocaleString("en")}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>

        <section aria-labelledby="waiting-heading">
          <h2 id="waiting-heading">Waiting for a person</h2>
          {props.waiting.length === 0 ? (
            <p>{running ? "None so far." : "None: nothing this run settled needs a person."}</p>
          ) : (
            <>
              <p>
                {props.waiting.length === props.waitingLimit
                  ? `The first ${props.waitingLimit} invoices`
                  : `${props.waiting.length} ${props.waiting.length === 1 ? "invoice" : "invoices"}`}{" "}
                this run could not settle without a person (docs/operations.md says what to do).
              </p>
              <div class="scroll">
                <table>
                  <caption>Invoices waiting for a person, with every call made for each</caption>
                  <thead>
                    <tr>
                      <th scope="col">Invoice</th>
                      <th scope="col">Customer</th>
                      <th scope="col">Attempts</th>
                    </tr>
                  </thead>
                  <tbody>
                    {props.waiting.map((invoice) => (
                      <tr>
                        <th scope="row">
                          {invoice.id}
                          <span class="meaning">{invoice.status}</span>
                        </th>
                        <td>{invoice.customerId}</td>
                        <td>
                          <a href={`/rest/v1/invoices/${invoice.id}/attempts`}>
                            {invoice.attempts} {invoice.attempts === 1 ? "attempt" : "attempts"} of
                            invoice {invoice.id}
                          </a>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </section>
      </div>
    </Page>
  );
}
