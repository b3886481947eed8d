import type { runJson } from "../rest/billing.js";
import { Page } from "./layout.js";

type Run = ReturnType<typeof runJson>;

export const triggerText = (trigger: string) =>
  trigger === "schedule" ? "monthly schedule" : "API call";

export const When = (props: { at: Date | string | null }) =>
  props.at === null ? (
    <span class="muted">–</span>
  ) : (
    <time datetime={new Date(props.at).toISOString()}>
      {new Date(props.at).toISOString().replace("T", " ").slice(0, 19)} UTC
    </time>
  );

/** Every run, newest first: what it is, how far it got, and a link to follow it. */
export function RunsPage(props: { signedInAs?: string | undefined; runs: Run[] }) {
  const running = props.runs.some((run) => run.status === "RUNNING");
  return (
    <Page
      title="Billing runs · Antaeus"
      signedInAs={props.signedInAs}
      {...(running ? { refreshSeconds: 5 } : {})}
    >
      <h1>Billing runs</h1>
      {props.runs.length === 0 ? (
        <p>
          No billing run yet. Start one with <code>curl -X POST /rest/v1/invoices/pay</code> on this
          server, then refresh.
        </p>
      ) : (
        <div class="scroll">
          <table>
            <caption>The {props.runs.length} latest runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Started by</th>
                <th scope="col">Started</th>
                <th scope="col" class="number">
                  Settled
                </th>
              </tr>
            </thead>
            <tbody>
              {props.runs.map((run) => (
                <tr>
                  <th scope="row">
                    <a href={`/runs/${run.id}`}>Run {run.id}</a>
                  </th>
                  <td class={`status-${run.status}`}>{run.status}</td>
                  <td>{triggerText(run.trigger)}</td>
                  <td>
                    <When at={run.startedAt} />
                  </td>
                  <td class="number">
                    {run.done.toLocaleString("en")} of {run.total.toLocaleString("en")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
