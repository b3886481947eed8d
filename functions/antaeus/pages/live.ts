import { createHash } from "node:crypto";
import { formatDuration, formatRate } from "./progress.js";

/**
 * The run page's only script: it polls the run's JSON (the API's own answer, so the page and
 * `GET /rest/v1/billing/runs/:id` never disagree) every 2 s and updates the figures in place.
 * The figures are formatted by progress.ts's own functions, inlined. Speed is settled invoices between polls over the browser's own elapsed time, averaged over the
 * last 30 s. When the run completes it reloads once, so the invoices left for a person appear.
 * Without JavaScript, the page refreshes itself instead (a meta refresh in <noscript>).
 */
export const LIVE_SCRIPT = `(() => {
  const root = document.querySelector("[data-run]");
  if (!root || root.dataset.status !== "RUNNING") return;
  const url = root.dataset.poll;
  const field = (name) => root.querySelector('[data-field="' + name + '"]');
  const set = (name, text) => { const el = field(name); if (el && el.textContent !== text) el.textContent = text; };
  // The page was rendered with this many settled: the first poll already gives a speed.
  const samples = [[performance.now(), Number(root.dataset.done)]];
  const rate = ${formatRate.toString()};
  const duration = ${formatDuration.toString()};
  // The session cookie expired or was cleared: say so and stop, a retry cannot help.
  const signedOut = () => {
    const el = field("connection");
    const link = document.createElement("a");
    link.href = "/runs/sign-in?next=" + encodeURIComponent(location.pathname);
    link.textContent = "Sign in again";
    el.textContent = "Live updates stopped: your session has ended. ";
    el.append(link);
  };
  const tick = async () => {
    let run;
    try {
      const response = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" });
      if (response.status === 401) return signedOut();
      if (!response.ok) throw new Error(String(response.status));
      run = await response.json();
      set("connection", "");
    } catch {
      set("connection", "Live updates paused: the server did not answer. Retrying.");
      return setTimeout(tick, 5000);
    }
    const now = performance.now();
    samples.push([now, run.done]);
    while (samples.length > 2 && now - samples[0][0] > 30000) samples.shift();
    const [t0, d0] = samples[0];
    const perSecond = now > t0 && run.done > d0 ? (run.done - d0) / ((now - t0) / 1000) : undefined;
    const percent = run.total === 0 ? 100 : Math.floor((run.done / run.total) * 100);
    const bar = field("bar");
    bar.max = Math.max(run.total, 1);
    bar.value = run.total === 0 ? 1 : run.done;
    bar.textContent = percent + "%";
    set("done", run.done.toLocaleString("en"));
    set("total", run.total.toLocaleString("en"));
    set("percent", percent + "%");
    if (perSecond !== undefined) {
      set("rate", rate(perSecond));
      set("left", duration((run.total - run.done) / perSecond));
    }
    for (const [outcome, count] of Object.entries(run.counts)) set("count-" + outcome, count.toLocaleString("en"));
    const refusal = field("refusal");
    if (refusal) {
      refusal.hidden = !run.refusal;
      set("refusal", run.refusal ? run.refusal.message : "");
    }
    // A lane started or gone since the page was drawn: draw it again, with its row.
    const table = root.querySelector("[data-lanes]");
    if (run.lanes.length !== (table ? Number(table.dataset.lanes) : 0)) return location.reload();
    for (const lane of run.lanes) {
      set("lane-" + lane.lane + "-state", lane.state);
      set("lane-" + lane.lane + "-worker", lane.worker ?? "–");
      set("lane-" + lane.lane + "-invoices", lane.invoices.toLocaleString("en"));
      set("lane-" + lane.lane + "-rate", rate(lane.invoicesPerSecond));
    }
    set("lanes-working", String(run.lanes.filter((lane) => lane.state === "working").length));
    set("provider-calls", rate(run.provider.callsPerSecond));
    if (run.provider.rate !== null) set("provider-rate", rate(run.provider.rate));
    set("provider-throttled", String(run.provider.throttled));
    if (run.status !== "RUNNING") return location.reload();
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
})();`;

/** For the Content-Security-Policy: this script, and no other, may run on the pages. */
export const LIVE_SCRIPT_HASH = `'sha256-${createHash("sha256").update(LIVE_SCRIPT).digest("base64")}'`;
